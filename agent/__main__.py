"""``python -m agent``: the agent as the systemd unit starts it (options: ``agent.cli``)."""

from agent.cli import main

raise SystemExit(main())
