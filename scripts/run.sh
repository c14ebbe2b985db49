#!/usr/bin/env bash
# `make run`: the desk on embedded defaults — SQLite under ./var, the repo's
# inventory.yaml, listening on loopback — plus this machine's own agent as a lab device.
# Override with WEIBAO_LISTEN (host:port) and WEIBAO_DB (a SQLAlchemy URL).
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${WEIBAO_LISTEN:-127.0.0.1:8080}
export WEIBAO_DB=${WEIBAO_DB:-sqlite:///var/weibao.db}
weibao=.venv/bin/weibao
mkdir -p var && chmod 700 var

# Refuse to start half a system: a broken inventory stops here with FILE:LINE messages.
"$weibao" check -i inventory.yaml

make_token() {  # role file
  if [ ! -s "$2" ]; then
    (umask 077 && "$weibao" token create --role "$1" --note "make run" > "$2.tmp" && mv "$2.tmp" "$2")
  fi
}
make_token manager var/manager.token
make_token agent var/agent.token

cat <<MSG

  weibao desk: http://$listen   (database: $WEIBAO_DB)
  manager token: var/manager.token
  try:  curl -s -H "Authorization: Bearer \$(cat var/manager.token)" http://$listen/api/v1/tickets

MSG

agent_pid=""
if "$weibao" agent --help >/dev/null 2>&1; then
  # The lab: this machine plays the agent-inspected server ht-app-01 of inventory.yaml.
  "$weibao" agent --desk "http://$listen" --token-file var/agent.token --device ht-app-01 \
    --interval 30 --state-dir var/agent --listen off &
  agent_pid=$!
fi
trap '[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; true' EXIT INT TERM
"$weibao" serve -i inventory.yaml --listen "$listen"
