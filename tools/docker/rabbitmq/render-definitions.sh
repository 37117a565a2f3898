#!/bin/sh
# Writes RabbitMQ's boot definitions (definitions.json beside this script: the vhost,
# one user per service with the least rights it needs, the shared exchanges and the
# dead-letter queue) with the passwords taken from the environment, so no password is
# ever stored in the repository or has a default.
#
#   render-definitions.sh <template> <output>
#
# Every @NAME@ in the template is replaced by $NAME, which must be set, non-empty and
# made of letters, digits, `-`, `_`, `.` and `~` only (the services put them in
# AMQP URLs; nothing in them needs escaping for sed or JSON). The output is readable by
# its owner only. docker-compose.yml runs this before RabbitMQ starts and loads the
# result with `load_definitions`.
set -eu

template="$1"
output="$2"
vars='RABBITMQ_USER RABBITMQ_PASSWORD RABBITMQ_AUTH_PASSWORD RABBITMQ_CHAT_PASSWORD RABBITMQ_WEBSOCKET_PASSWORD RABBITMQ_WEBHOOKS_PASSWORD'

script=''
for var in $vars; do
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then
    echo "render-definitions: $var is not set" >&2
    exit 1
  fi
  case "$value" in
    *[!A-Za-z0-9._~-]*)
      echo "render-definitions: $var may hold letters, digits, '-', '_', '.' and '~' only" >&2
      exit 1
      ;;
  esac
  script="$script;s/@$var@/$value/g"
done

left="$(sed -e "${script#;}" "$template" | grep -o '@[A-Z_]*@' || true)"
if [ -n "$left" ]; then
  echo "render-definitions: the template names variables this script does not fill: $left" >&2
  exit 1
fi

umask 077
sed -e "${script#;}" "$template" >"$output.tmp"
mv "$output.tmp" "$output"
