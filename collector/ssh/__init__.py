"""SSH inspection: fixed read-only command profiles per OS, parsed into samples.

Start at :mod:`collector.ssh.driver` (``SshDriver``, the ``ssh`` driver). Only
:mod:`collector.ssh.client` imports paramiko; the parsers are pure functions tested on
saved command output. See docs/collector.md (SSH).
"""
