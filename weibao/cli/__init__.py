"""The ``weibao`` command: the only place that wires the packages together."""
