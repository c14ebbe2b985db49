"""Data: tests of the default rule pack, run by ``weibao rules test`` and tests/rules."""
