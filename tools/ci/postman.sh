#!/usr/bin/env bash
# Runs the Postman collection (docs/postman) with newman against the real stack,
# started the way a newcomer starts it: `pnpm start`. Called from .ci/run; also fine by
# hand on a machine where the service ports are free.
#
#   1. starts a throwaway FerretDB dev server (temp data dir, a free port) and hands it
#      to `pnpm start` as MONGO_URL, so nothing under .data/ is touched (start.mjs keeps
#      its own FerretDB's data in .data/ferretdb and has no setting for another dir);
#   2. `pnpm start` (builds if stale, checks RabbitMQ, runs auth, chat, websocket and
#      the webhook worker);
#   3. waits, bounded, for the four /readyz (the webhook worker's too) to answer 200;
#   4. newman, --bail;
#   5. stops everything it started (trap EXIT) and exits non-zero on any failure.
#
# Environment: AUTH_PORT / CHAT_PORT / WEBSOCKET_PORT / WEBHOOKS_PORT (5001/5002/5003/5004), AMQP_URL (as for
# pnpm start), POSTMAN_READY_TIMEOUT_S (60); WEBHOOK_ALLOW_PRIVATE is unset for the stack.
# The stack's output goes to a log file that is printed when something fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

AUTH_PORT="${AUTH_PORT:-5001}"
CHAT_PORT="${CHAT_PORT:-5002}"
WEBSOCKET_PORT="${WEBSOCKET_PORT:-5003}"
WEBHOOKS_PORT="${WEBHOOKS_PORT:-5004}"
READY_TIMEOUT_S="${POSTMAN_READY_TIMEOUT_S:-60}"
export AUTH_PORT CHAT_PORT WEBSOCKET_PORT WEBHOOKS_PORT
# The collection's webhooks folder expects loopback and private targets refused (400
# validation_failed, docs/design.md §12.1): the default, whatever this shell exports.
unset WEBHOOK_ALLOW_PRIVATE

tmp="$(mktemp -d)"
stack_log="$tmp/stack.log"
ferret_log="$tmp/ferretdb.log"
stack_pid=''
ferret_pid=''

log() { printf '[postman] %s\n' "$*"; }

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Stops a process group started below: SIGTERM, then SIGKILL after a grace period.
stop_group() {
  local pid="$1" name="$2" grace_s="$3"
  alive "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace_s))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if alive "$pid"; then
    log "$name did not stop within ${grace_s}s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  set +e
  # the services' output up to the failure, before shutdown lines bury it
  if [ "$status" -ne 0 ] && [ -s "$stack_log" ]; then
    log 'stack output (last 60 lines):'
    tail -n 60 "$stack_log" | sed 's/^/  /'
  fi
  stop_group "$stack_pid" 'pnpm start' 15
  stop_group "$ferret_pid" 'FerretDB' 10
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in "$AUTH_PORT" "$CHAT_PORT" "$WEBSOCKET_PORT"; do
  if port_answers "$port"; then
    log "port $port is already in use; stop what listens there (or set AUTH_PORT/CHAT_PORT/WEBSOCKET_PORT)"
    exit 1
  fi
done

# Each background job gets its own process group, so the whole tree can be stopped.
set -m

log 'starting a throwaway FerretDB dev server'
node tools/ferretdb/ferretdb.mjs start --data "$tmp/ferretdb" --listen 127.0.0.1:0 \
  --log-level warn >"$ferret_log" 2>&1 </dev/null &
ferret_pid=$!
mongo_url=''
deadline=$((SECONDS + 60))
until [ -n "$mongo_url" ]; do
  mongo_url="$(sed -n 's/^ferretdb: listening at \(mongodb:\/\/[^ ]*\).*/\1/p' "$ferret_log")"
  if [ -n "$mongo_url" ]; then break; fi
  if ! alive "$ferret_pid" || [ "$SECONDS" -ge "$deadline" ]; then
    log 'FerretDB did not start:'
    sed 's/^/  /' "$ferret_log"
    exit 1
  fi
  sleep 0.2
done
log "FerretDB at $mongo_url"

log "pnpm start (auth :$AUTH_PORT, chat :$CHAT_PORT, websocket :$WEBSOCKET_PORT, webhook worker :$WEBHOOKS_PORT)"
MONGO_URL="$mongo_url/parley_postman" NO_COLOR=1 pnpm start >"$stack_log" 2>&1 </dev/null &
stack_pid=$!
set +m

ready() { node -e '
  const urls = process.argv.slice(1);
  Promise.all(urls.map((u) => fetch(u, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200)))
    .then((oks) => process.exit(oks.every(Boolean) ? 0 : 1), () => process.exit(1));
' "http://127.0.0.1:$AUTH_PORT/readyz" "http://127.0.0.1:$CHAT_PORT/readyz" \
  "http://127.0.0.1:$WEBSOCKET_PORT/readyz" "http://127.0.0.1:$WEBHOOKS_PORT/readyz"; }

started=$SECONDS
deadline=$((SECONDS + READY_TIMEOUT_S))
until ready; do
  if ! alive "$stack_pid"; then
    log 'pnpm start exited before the services were ready'
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "the services were not ready within ${READY_TIMEOUT_S}s"
    exit 1
  fi
  sleep 0.5
done
log "all four /readyz answer 200 (after $((SECONDS - started))s)"

pnpm exec newman run docs/postman/parley.postman_collection.json \
  -e docs/postman/parley.postman_environment.json \
  --env-var "authUrl=http://127.0.0.1:$AUTH_PORT" \
  --env-var "chatUrl=http://127.0.0.1:$CHAT_PORT" \
  --env-var "wsUrl=http://127.0.0.1:$WEBSOCKET_PORT" \
  --reporters cli --bail --color off

log 'newman passed'
