"""Data: the default rule pack (``*.yaml``), shipped with weibao; see docs/rules.md."""
