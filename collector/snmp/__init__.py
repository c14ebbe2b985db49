"""SNMP inspection: v1, v2c and v3 over pysnmp, profiles as data, counters as rates.

Start at :mod:`collector.snmp.driver` (``SnmpDriver``, the ``snmp`` driver). Only
:mod:`collector.snmp.engine` imports pysnmp, so importing the readers, profiles or
counters costs nothing. See docs/collector.md.
"""
