#!/usr/bin/env bash
# Checks the Docker setup on a machine without a Docker engine (CI and the build
# machines have none; docs/docker.md, "What was run where", says what this does and
# does not prove):
#   1. docker-compose.yml parses and validates with Debian's docker-compose (1.29),
#      with the built-in defaults and with .env.example as the env file;
#   2. the resolved file keeps the promises docker-compose cannot check: a health check
#      on every long-running service, `depends_on` with conditions, named volumes only,
#      Dockerfiles that exist, and .env.example in step with the file's `${VAR:-default}`s;
#   3. every services/*/Dockerfile and apps/*/Dockerfile lints clean (zero findings, warnings included) with
#      dockerfile-utils and dockerfilelint, the Dockerfile linters npm has (hadolint is
#      in neither npm nor Debian);
#   4. the keygen script writes, keeps and refuses keys as docker-compose.yml relies on.
# Installs docker-compose with apt and the linters with npm (into a temp dir) when
# missing. Exits non-zero on the first problem.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DOCKERFILE_UTILS_VERSION=0.16.3
DOCKERFILELINT_VERSION=1.8.0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

log() { printf '[docker] %s\n' "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}

if ! command -v docker-compose >/dev/null; then
  log 'installing docker-compose from Debian packages'
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
log "$(docker-compose version --short 2>/dev/null || docker-compose version | head -n1)"

# A clean environment, so neither a developer's shell nor a local .env changes the result.
compose() { env -i PATH="$PATH" HOME="$tmp" docker-compose -f docker-compose.yml "$@"; }

: >"$tmp/empty.env"
compose --env-file "$tmp/empty.env" config -q || fail 'docker-compose config (defaults)'
log 'docker-compose config -q: ok with the defaults'
compose --env-file .env.example config -q || fail 'docker-compose config (--env-file .env.example)'
log 'docker-compose config -q: ok with .env.example'
compose --env-file "$tmp/empty.env" config >"$tmp/resolved.yml"

python3 - "$tmp/resolved.yml" docker-compose.yml .env.example <<'PY' || fail 'compose policy checks'
import os, re, sys
import yaml

resolved_path, source_path, example_path = sys.argv[1:4]
config = yaml.safe_load(open(resolved_path))
services = config["services"]
problems = []

ONE_SHOTS = {"keygen"}  # run to completion; others wait for them to exit 0
EXPECTED = {"mongo", "rabbitmq", "auth", "chat", "websocket", "web"}
missing = EXPECTED - services.keys()
if missing:
    problems.append(f"services missing: {sorted(missing)}")

for name, svc in services.items():
    if name in ONE_SHOTS:
        continue
    check = svc.get("healthcheck") or {}
    if check.get("disable") or not check.get("test"):
        problems.append(f"{name}: no health check")
    for dep, how in (svc.get("depends_on") or {}).items():
        want = "service_completed_successfully" if dep in ONE_SHOTS else "service_healthy"
        if not isinstance(how, dict) or how.get("condition") != want:
            problems.append(f"{name}: depends_on {dep} must use condition {want}")
    build = svc.get("build")
    if build:
        dockerfile = os.path.join(build["context"], build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            problems.append(f"{name}: {dockerfile} does not exist")
    for volume in svc.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
        kind = volume.get("type") if isinstance(volume, dict) else None
        if kind == "bind" or (source and source.startswith(("/", "."))):
            problems.append(f"{name}: {source} is a bind mount; data belongs in named volumes")
        elif source and source not in (config.get("volumes") or {}):
            problems.append(f"{name}: volume {source} is not declared")

for name in ("auth", "chat", "websocket"):
    env = services.get(name, {}).get("environment", {})
    if env.get("NODE_ENV") != "production":
        problems.append(f"{name}: NODE_ENV must be production")

# .env.example documents exactly the variables the file reads, with the same defaults.
source = open(source_path).read()
defaults = {}
for var, default in re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", source):
    if defaults.setdefault(var, default) != default:
        problems.append(f"docker-compose.yml gives {var} two defaults")
bare = set(re.findall(r"\$\{([A-Z0-9_]+)\}", source))
if bare:
    problems.append(f"docker-compose.yml reads {sorted(bare)} without a default")
example = {}
for line in open(example_path):
    line = line.strip()
    if line and not line.startswith("#"):
        key, _, value = line.partition("=")
        example[key] = value
for var, default in defaults.items():
    if var not in example:
        problems.append(f".env.example does not document {var}")
    elif example[var] != default:
        problems.append(f".env.example has {var}={example[var]}, docker-compose.yml defaults to {default}")
for var in example.keys() - defaults.keys() - {"COMPOSE_PROJECT_NAME"}:
    problems.append(f".env.example sets {var}, which docker-compose.yml does not read")

for problem in problems:
    print(f"[docker]   {problem}")
sys.exit(1 if problems else 0)
PY
log 'compose policy checks: ok'

log "installing dockerfile-utils@$DOCKERFILE_UTILS_VERSION and dockerfilelint@$DOCKERFILELINT_VERSION"
if ! npm install --prefix "$tmp/lint" --no-save --no-audit --no-fund --loglevel=error \
  "dockerfile-utils@$DOCKERFILE_UTILS_VERSION" "dockerfilelint@$DOCKERFILELINT_VERSION" >"$tmp/npm.log" 2>&1; then
  cat "$tmp/npm.log"
  fail 'npm could not install the Dockerfile linters'
fi
bin="$tmp/lint/node_modules/.bin"

shopt -s nullglob
dockerfiles=(services/*/Dockerfile apps/*/Dockerfile)
[ "${#dockerfiles[@]}" -eq 4 ] || fail "expected 4 Dockerfiles (3 services, the web app), found ${#dockerfiles[@]}"
for dockerfile in "${dockerfiles[@]}"; do
  # dockerfile-utils exits 0 on warnings; --json lists every finding, and none may remain.
  findings="$("$bin/dockerfile-utils" lint --json "$dockerfile")" || true
  if [ "$findings" != '[]' ]; then
    "$bin/dockerfile-utils" lint "$dockerfile" || true
    fail "dockerfile-utils lint $dockerfile"
  fi
  "$bin/dockerfilelint" "$dockerfile" >"$tmp/dockerfilelint.out" 2>&1 || {
    cat "$tmp/dockerfilelint.out"
    fail "dockerfilelint $dockerfile"
  }
  # What the linters do not require but the images promise.
  [ "$(grep -c '^FROM ' "$dockerfile")" -ge 2 ] || fail "$dockerfile is not multi-stage"
  grep -q 'deploy --prod' "$dockerfile" || fail "$dockerfile does not pnpm deploy --prod"
  grep -q '^HEALTHCHECK ' "$dockerfile" || fail "$dockerfile has no HEALTHCHECK"
  last_user="$(grep '^USER ' "$dockerfile" | tail -n1 | awk '{print $2}' || true)"
  case "$last_user" in
    '' | root | 0 | 0:*) fail "$dockerfile does not switch to a non-root user" ;;
  esac
  log "lint $dockerfile: no findings (dockerfile-utils, dockerfilelint); multi-stage, prod deploy, non-root, HEALTHCHECK"
done

keys="$tmp/keys/jwt-private.pem"
mkdir -p "$tmp/keys"
keygen() { JWT_PRIVATE_KEY_FILE="$keys" JWT_ALGORITHM="$1" node tools/docker/generate-jwt-key.mjs; }
keygen RS256 | grep -q 'wrote a new' || fail 'keygen did not write a key'
before="$(sha256sum "$keys")"
keygen RS256 | grep -q 'keeping' || fail 'keygen did not keep the key'
[ "$before" = "$(sha256sum "$keys")" ] || fail 'keygen changed an existing key'
[ "$(stat -c %a "$keys")" = 600 ] || fail 'the key file is not mode 0600'
if keygen ES256 2>/dev/null; then fail 'keygen accepted an RSA key for ES256'; fi
node --check tools/docker/healthcheck.mjs || fail 'healthcheck.mjs does not parse'
log 'keygen and healthcheck scripts: ok'
log 'all Docker checks passed'
