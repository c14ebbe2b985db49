"""weibao (维保): monitoring and auto-ticketing for IT maintenance-service contracts.

This package is the shared core: the inventory model, fault levels, observation and
alarm types, errors, the clock, and the ``weibao`` command that wires the parts together.
The domain modules import no psutil, pysnmp, paramiko, httpx or database driver.
"""

__version__ = "0.1.0"
