"""SNMP traps: a receiver (v1, v2c, v3) that turns notifications into observations.

Start at :mod:`collector.traps.receiver` (``TrapReceiver``). Only
:mod:`collector.traps.listener` imports pysnmp; the catalog of what each trap means is
YAML data in ``builtin/`` (:mod:`collector.traps.catalog`). See docs/collector.md, "Traps".
"""
