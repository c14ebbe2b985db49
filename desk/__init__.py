"""The desk: takes observations, runs the rules, opens tickets with SLA clocks running,
and serves them over HTTP.

The parts are wired in :mod:`desk.server`; everything else takes its collaborators
(store, inventory, engine, clock) as arguments, so tests build a desk without globals.
"""
