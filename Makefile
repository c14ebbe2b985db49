# The two commands a newcomer needs; both set everything up themselves.
#   make run   start the desk on embedded defaults (SQLite, ./inventory.yaml, loopback)
#   make test  run the whole test suite (installs the real peers it needs)
#   make bench run every benchmark under bench/ and rewrite the figures in bench/RESULTS.md
.PHONY: run test lint check bench agent clean

run:
	@scripts/bootstrap.sh
	@scripts/run.sh

test:
	@scripts/bootstrap.sh --peers
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench:
	@scripts/bootstrap.sh --peers
	.venv/bin/python bench/run_all.py $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

check:
	@scripts/bootstrap.sh
	.venv/bin/weibao check -i inventory.yaml -r rules/pack

# The host agent as one file for customers' servers (docs/agent.md): dist/weibao-agent-*.pex
agent:
	@scripts/bootstrap.sh
	.venv/bin/python scripts/build_agent.py

clean:
	rm -rf .venv var dist .pytest_cache .ruff_cache .mypy_cache .hypothesis
