#!/usr/bin/env bash
# `make run`: the desk on embedded defaults — SQLite under ./var, the repo's
# inventory.yaml, listening on loopback — with its collector inspecting the demo lab
# (simulated switches, firewalls, UPS, storage and servers on 127.0.0.x, see docs/lab.md)
# and this machine's own agent as the lab server ht-app-01.
# Override with WEIBAO_LISTEN (host:port), WEIBAO_DB (a SQLAlchemy URL) and
# WEIBAO_LAB_DIR (the lab's state, default var/lab).
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${WEIBAO_LISTEN:-127.0.0.1:8080}
export WEIBAO_DB=${WEIBAO_DB:-sqlite:///var/weibao.db}
lab_dir=${WEIBAO_LAB_DIR:-var/lab}
weibao=.venv/bin/weibao
mkdir -p var && chmod 700 var

# The lab's credentials, for the simulated devices and for the desk that inspects them:
# lab-only values, set here so that `make run` never uses a real secret of yours.
set -a
# shellcheck source=../lab/lab.env
. lab/lab.env
set +a

# Refuse to start half a system: a broken inventory stops here with FILE:LINE messages.
"$weibao" check -i inventory.yaml

# Tokens live in the database: made for another WEIBAO_DB, they would match nothing.
# (A hash of the URL is kept, not the URL: it may carry a database password.)
db_stamp=$(printf '%s' "$WEIBAO_DB" | sha256sum | cut -c1-16)
if [ "$(cat var/tokens.db 2>/dev/null || true)" != "$db_stamp" ]; then
  rm -f var/manager.token var/agent.token var/console-logins.txt
  printf '%s\n' "$db_stamp" > var/tokens.db
fi
make_token() {  # role file
  if [ ! -s "$2" ]; then
    (umask 077 && "$weibao" token create --role "$1" --note "make run" > "$2.tmp" && mv "$2.tmp" "$2")
  fi
}
make_token manager var/manager.token
make_token agent var/agent.token

# Console accounts for the demo: an engineer of the Shanghai site, the service manager
# and the customer's contact, each with a random password kept in var/ (never argv).
if [ ! -s var/console-logins.txt ]; then
  (
    umask 077
    : > var/console-logins.tmp
    while read -r user role name extra; do
      password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
      # shellcheck disable=SC2086  # $extra is one option and its value, or nothing
      printf '%s\n' "$password" | "$weibao" user add "$user" --role "$role" --name "$name" \
        $extra -i inventory.yaml >/dev/null
      printf '%-10s %-8s %s  (%s)\n' "$user" "$password" "$role" "$name" >> var/console-logins.tmp
    done <<'ACCOUNTS'
liqiang engineer 李强
wanglei manager 王磊
chenjing customer 陈静 --customer=恒通物流
ACCOUNTS
    mv var/console-logins.tmp var/console-logins.txt
  )
fi

lab_pid=""
agent_pid=""
serve_pid=""
stop_all() {  # on Ctrl-C, SIGTERM or any exit: stop everything started here, and wait
  trap - EXIT INT TERM
  for pid in $serve_pid $agent_pid $lab_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true  # the desk closes its store, the lab its ports and lab.json
}
trap stop_all EXIT INT TERM

# The lab: every SNMP/SSH device of inventory.yaml, simulated on 127.0.0.x:1161 / :2222.
rm -f "$lab_dir/lab.json"
"$weibao" lab start --state-dir "$lab_dir" &
lab_pid=$!
for _ in $(seq 100); do  # up to 20 s: it binds 12 devices and writes lab.json
  [ -s "$lab_dir/lab.json" ] && break
  if ! kill -0 "$lab_pid" 2>/dev/null; then
    echo "make run: the lab did not start (see above)" >&2
    exit 1
  fi
  sleep 0.2
done

if "$weibao" agent --help >/dev/null 2>&1; then
  # This machine plays the agent-inspected server ht-app-01 of inventory.yaml.
  "$weibao" agent --desk "http://$listen" --token-file var/agent.token --device ht-app-01 \
    --interval 30 --state-dir var/agent --listen off &
  agent_pid=$!
fi

lab_opt=""
if [ "$lab_dir" != var/lab ]; then lab_opt=" --state-dir $lab_dir"; fi
cat <<MSG

  weibao desk: http://$listen   (database: $WEIBAO_DB)
  console:  http://$listen/   log in as one of var/console-logins.txt (user, password)
  manager token: var/manager.token
  tickets:  curl -s -H "Authorization: Bearer \$(cat var/manager.token)" http://$listen/api/v1/tickets
  report:   $weibao report inspection --customer 恒通物流 --format pdf -o var/

  the lab:  $weibao lab status$lab_opt
  a fault:  $weibao lab fault ups-on-battery on$lab_opt
            (a ticket in two or three minutes; \`... off\` and it recovers)

MSG

# The desk inspects the lab's devices itself (--collect is the default). It runs in the
# background so that a signal to this script stops everything at once (bash runs traps
# only between commands, and `wait` is one).
"$weibao" serve -i inventory.yaml --listen "$listen" &
serve_pid=$!
wait "$serve_pid"
