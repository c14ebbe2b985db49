#!/usr/bin/env bash
# `make run`: the desk on embedded defaults — SQLite under ./var, the repo's
# inventory.yaml, listening on loopback — with its collector inspecting the demo lab
# (simulated switches, firewalls, UPS, storage and servers on 127.0.0.x, see docs/lab.md)
# and this machine's own agent as the lab server ht-app-01.
# Override with WEIBAO_LISTEN (host:port), WEIBAO_DB (a SQLAlchemy URL),
# WEIBAO_LAB_DIR (the lab's state, default var/lab) and WEIBAO_LAB_NET (the lab's
# loopback network, default the inventory's 127.0.0.x; 127.0.1.0/24 runs a second lab
# beside another clone's).
# Ctrl-C or SIGTERM stops everything it started and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${WEIBAO_LISTEN:-127.0.0.1:8080}
export WEIBAO_DB=${WEIBAO_DB:-sqlite:///var/weibao.db}
lab_dir=${WEIBAO_LAB_DIR:-var/lab}
weibao=.venv/bin/weibao
lab_net=${WEIBAO_LAB_NET:-}
mkdir -p var && chmod 700 var
say() { printf 'make run: %s\n' "$*"; }

# The lab's credentials, for the simulated devices and for the desk that inspects them:
# lab-only values, set here so that `make run` never uses a real secret of yours.
set -a
# shellcheck source=../lab/lab.env
. lab/lab.env
set +a

# Refuse to start half a system: a broken inventory stops here with FILE:LINE messages.
say "checking inventory.yaml..."
"$weibao" check -i inventory.yaml

# Tokens live in the database: made for another WEIBAO_DB, they would match nothing.
# (A hash of the URL is kept, not the URL: it may carry a database password.)
db_stamp=$(printf '%s' "$WEIBAO_DB" | sha256sum | cut -c1-16)
if [ "$(cat var/tokens.db 2>/dev/null || true)" != "$db_stamp" ]; then
  rm -f var/manager.token var/agent.token var/console-logins.txt
  printf '%s\n' "$db_stamp" > var/tokens.db
fi
make_token() {  # role name file [scope...]: the name is who the timeline says took a step
  if [ ! -s "$3" ]; then
    if ! (umask 077 && "$weibao" token create --create-db --role "$1" --name "$2" --note "make run" \
          -i inventory.yaml "${@:4}" > "$3.tmp" 2> var/token.err && mv "$3.tmp" "$3"); then
      cat var/token.err >&2
      exit 1
    fi
    say "created the $1 token ($2); it is kept in $3"
  fi
}
make_token manager 值班经理 var/manager.token
make_token agent "ht-app-01 agent" var/agent.token --device ht-app-01
rm -f var/token.err

# Console accounts for the demo: an engineer of the Shanghai site, the service manager
# and the customer's contact, each with a random password kept in var/ (never argv).
if [ ! -s var/console-logins.txt ]; then
  say "creating the demo's console logins (var/console-logins.txt)..."
  (
    umask 077
    : > var/console-logins.tmp
    while read -r user role name extra; do
      password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
      # shellcheck disable=SC2086  # $extra is one option and its value, or nothing
      if ! printf '%s\n' "$password" | "$weibao" user add --create-db "$user" --role "$role" \
           --name "$name" $extra -i inventory.yaml >/dev/null 2>var/user.err; then
        cat var/user.err >&2
        exit 1
      fi
      printf '%-10s %-8s %s  (%s)\n' "$user" "$password" "$role" "$name" >> var/console-logins.tmp
    done <<'ACCOUNTS'
liqiang engineer 李强
wanglei manager 王磊
chenjing customer 陈静 --customer=恒通物流
ACCOUNTS
    mv var/console-logins.tmp var/console-logins.txt
    rm -f var/user.err
  )
fi

lab_pid=""
agent_pid=""
serve_pid=""
stop_all() {  # stop everything started here, and wait for it
  trap - EXIT INT TERM
  for pid in $serve_pid $agent_pid $lab_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true  # the desk closes its store, the lab its ports and lab.json
}
# Ctrl-C and SIGTERM are how one stops `make run`: a requested stop, so exit 0 (make
# would otherwise report "Error 130"/"Error 143"). Any other exit keeps its status.
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# The lab: every SNMP/SSH device of inventory.yaml, simulated on 127.0.0.x:1161 / :2222,
# and the sink the desk's notices go to (a webhook receiver on 127.0.0.1 writing
# var/notifications.log).
net_opt=()
if [ -n "$lab_net" ]; then net_opt=(--net "$lab_net"); fi
say "starting the lab: simulated switches, firewalls, UPS, storage and servers${lab_net:+ in $lab_net}..."
rm -f "$lab_dir/lab.json"
"$weibao" lab start --state-dir "$lab_dir" "${net_opt[@]}" --notify-log var/notifications.log &
lab_pid=$!
for _ in $(seq 100); do  # up to 20 s: it binds 12 devices and writes lab.json
  [ -s "$lab_dir/lab.json" ] && break
  if ! kill -0 "$lab_pid" 2>/dev/null; then
    echo "make run: the lab did not start (see above)" >&2
    exit 1
  fi
  sleep 0.2
done
WEIBAO_LAB_WEBHOOK_URL=$(cat "$lab_dir/webhook.url")
export WEIBAO_LAB_WEBHOOK_URL

# The desk runs on a copy of inventory.yaml with the lab's own additions (the sink's
# webhook channel; the lab's network when it moved), so the repo's example stays what
# real users copy. Same line numbers as inventory.yaml.
"$weibao" lab inventory -i inventory.yaml -o "$lab_dir/inventory.yaml" "${net_opt[@]}" \
  --webhook-env WEIBAO_LAB_WEBHOOK_URL --base-url "http://$listen"

# The desk inspects the lab's devices itself (--collect is the default). It runs in the
# background so that a signal to this script stops everything at once (bash runs traps
# only between commands, and `wait` is one).
say "starting the desk on http://$listen (the first start creates the database)..."
"$weibao" serve -i "$lab_dir/inventory.yaml" --listen "$listen" &
serve_pid=$!
desk_up() {
  .venv/bin/python - "http://$listen/healthz" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError:
    sys.exit(1)
PY
}
for _ in $(seq 120); do  # up to a minute: migrations run first
  desk_up && break
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    echo "make run: the desk did not start (see above)" >&2
    exit 1
  fi
  sleep 0.5
done
if ! desk_up; then
  echo "make run: the desk did not answer http://$listen/healthz within a minute" >&2
  exit 1
fi

if "$weibao" agent --help >/dev/null 2>&1; then
  # This machine plays the agent-inspected server ht-app-01 of inventory.yaml.
  "$weibao" agent --desk "http://$listen" --token-file var/agent.token --device ht-app-01 \
    --interval 30 --state-dir var/agent --listen off &
  agent_pid=$!
fi

lab_args=""
if [ "$lab_dir" != var/lab ]; then lab_args=" --state-dir $lab_dir"; fi
cat <<MSG

  weibao desk: http://$listen   (database: $WEIBAO_DB)
  console:  http://$listen/   log in as one of var/console-logins.txt (user, password)
  manager token: in var/manager.token (值班经理)
  tickets:  curl -s -H "Authorization: Bearer \$(cat var/manager.token)" http://$listen/api/v1/tickets
  report:   $weibao report inspection --customer 恒通物流 --format pdf -o var/
  notices:  tail -f var/notifications.log   (the lab's webhook sink: what engineers are told)

  the lab:  $weibao lab status$lab_args
  a fault:  $weibao lab fault ups-on-battery on$lab_args
            (a ticket in two or three minutes; \`... off\` and it recovers)
  stop:     Ctrl-C

MSG

wait "$serve_pid"
