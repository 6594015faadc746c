#!/usr/bin/env bash
# `make sam-local`: the functions as `sam build` built them, run by `sam local` in containers with
# the Runtime Interface Emulator, against moto in a container on the same Docker network:
#   1. the images it needs, built if missing (scripts/sam_images.sh; nothing is pulled);
#   2. a Docker network and moto on it, ready before the first call, with the table, the SES sender
#      and the two partners `make dev` sets up;
#   3. scripts/sam_local_check.py: `sam local invoke` of every event in events/, then
#      `sam local start-api` and a full flow over HTTP, then moto stopped (a 503 envelope).
# Every container and network it started is removed on the way out, on failure and on Ctrl-C too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
NETWORK=${SAM_LOCAL_NETWORK:-registration-sam-local}
MOTO_CONTAINER=${SAM_LOCAL_MOTO_CONTAINER:-registration-sam-moto}
MOTO_PORT=${SAM_LOCAL_MOTO_PORT:-5305}
API_PORT=${SAM_LOCAL_API_PORT:-3000}
# sam-default: SAM's own image (needs a registry); otherwise the image scripts/sam_images.sh builds.
BASE_IMAGE=${SAM_LOCAL_BASE_IMAGE:-registration-sam-base:bookworm}
MOTO_IMAGE=${SAM_LOCAL_MOTO_IMAGE:-registration-sam-moto:bookworm}
TABLE_NAME=registration-sam-local
STATE=.local/sam-local
export SAM_CLI_TELEMETRY=0 AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local

fail() {
  echo "sam-local: $*" >&2
  exit 2
}

# What must be free before anything starts, so a failure here leaves nothing behind.
docker info >/dev/null 2>&1 || fail "no Docker engine answers (start dockerd, or run as a user who may use it)"
docker network inspect "$NETWORK" >/dev/null 2>&1 && fail "a Docker network named $NETWORK exists; remove it or set SAM_LOCAL_NETWORK"
docker container inspect "$MOTO_CONTAINER" >/dev/null 2>&1 && fail "a container named $MOTO_CONTAINER exists; remove it or set SAM_LOCAL_MOTO_CONTAINER"
for port in "$MOTO_PORT" "$API_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use; set SAM_LOCAL_MOTO_PORT or SAM_LOCAL_API_PORT"
  fi
done
[ -f .aws-sam/build/template.yaml ] || fail "no .aws-sam/build: run make sam-build first"

mkdir -p "$STATE"
api_pid=
cleanup() {
  status=$?
  trap - EXIT INT TERM
  # TERM, not INT: a background job of a script ignores SIGINT.
  [ -z "$api_pid" ] || { kill -TERM "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; }
  # Function containers SAM may have left on the network, then moto, then the network.
  for id in $(docker ps -aq --filter "network=$NETWORK" 2>/dev/null); do docker rm -f "$id" >/dev/null 2>&1 || true; done
  docker rm -f "$MOTO_CONTAINER" >/dev/null 2>&1 || true
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
  echo "sam-local: removed the containers and the network it started"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
VENV=$VENV scripts/sam_images.sh
docker network create "$NETWORK" >/dev/null
docker run -d --name "$MOTO_CONTAINER" --network "$NETWORK" -p "127.0.0.1:$MOTO_PORT:5005" \
  -v "$PWD/scripts:/srv/scripts:ro" "$MOTO_IMAGE" python3 /srv/scripts/moto_server.py -H 0.0.0.0 -p 5005 >/dev/null
# The first call must find moto serving, not merely its port open: a function that meets a moto
# still loading its services gets connection errors, retried and then answered 503.
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
for _ in $(seq 300); do
  if curl -sf -o /dev/null "$AWS_ENDPOINT_URL/moto-api/data.json"; then break; fi
  sleep 0.1
done
curl -sf -o /dev/null "$AWS_ENDPOINT_URL/moto-api/data.json" || fail "moto did not start (docker logs $MOTO_CONTAINER)"
echo "sam-local: moto ready on the network $NETWORK after $(($(date +%s) - started)) s"

# The table, SES sender and partners exactly as `make dev` makes them (the same programs).
cargo build --quiet -p admin --bin partners -p e2e --bin devstack
# The signing key (KMS) and the pepper's secret (Secrets Manager), made in this moto: their ARNs only.
target/debug/devstack env >"$STATE/keys.env"
SES_SENDER=no-reply@registration.local TABLE_NAME=$TABLE_NAME target/debug/devstack setup
register() {
  local id=$1
  shift
  TABLE_NAME=$TABLE_NAME target/debug/partners add --id "$id" "$@" >/dev/null
}
register bece038f-2e46-49f4-b25e-89cd38d6dc16 --name "Seed partner (sandbox)" --sandbox --sms-countries GB,IE,DE,FR,ES,IT,NL,US
register 6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b --name "Live partner (sends to moto)" --sms-countries GB,IE,DE,FR,ES,IT,NL,US --daily-sms-budget 500
# Identity verification in sandbox mode for the seed partner, with a webhook secret the checks sign
# Sumsub's part with (docs/kyc.md): given on standard input, as an operator would.
SAM_LOCAL_WEBHOOK_SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$SAM_LOCAL_WEBHOOK_SECRET" | TABLE_NAME=$TABLE_NAME target/debug/partners sumsub \
  bece038f-2e46-49f4-b25e-89cd38d6dc16 --mode sandbox --level basic-kyc-level --webhook-secret-stdin >/dev/null
export SAM_LOCAL_WEBHOOK_SECRET

# The template's parameters (the key's ARN; no secret is a parameter) and the table's real name;
# the functions reach moto by its container name.
# shellcheck disable=SC1091
source "$STATE/keys.env"
overrides="SigningKeyArn=$SIGNING_KEY_ARN TokenPublicKeys=$TOKEN_PUBLIC_KEYS DeployDigest=0000000000"
overrides+=" TokenIssuer=http://127.0.0.1:$API_PORT PublicBaseUrl=http://127.0.0.1:$API_PORT"
overrides+=" EmailSender=no-reply@registration.local LocalEndpointUrl=http://$MOTO_CONTAINER:5005 AwsTrustRoots=system"
overrides+=" SmsFactorEnrolment=on"
# SAM local does not evaluate the template's conditions (it leaves AWS_ENDPOINT_URL empty,
# which the functions refuse) nor create the pepper's secret, the factor key or the SES
# configuration set (left out: moto's SES ignores it); --env-vars sets
# the variables the template declares, so they are set here, each only where a function declares it.
printf '{"Parameters": {"TABLE_NAME": "%s", "AWS_ENDPOINT_URL": "http://%s:5005", "CODE_PEPPER_SECRET_ARN": "%s", "FACTOR_KEY_ARN": "%s", "SES_CONFIGURATION_SET": ""}}\n' \
  "$TABLE_NAME" "$MOTO_CONTAINER" "$CODE_PEPPER_SECRET_ARN" "$FACTOR_KEY_ARN" >"$STATE/env.json"
args=(--env-vars "$STATE/env.json" --parameter-overrides "$overrides" --docker-network "$NETWORK" --region eu-west-1)
[ "$BASE_IMAGE" = sam-default ] || args+=(--invoke-image "$BASE_IMAGE" --skip-pull-image)
SAM_LOCAL_ARGS=$("$VENV/bin/python" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${args[@]}")
export SAM_LOCAL_ARGS SAM_LOCAL_MOTO_URL=$AWS_ENDPOINT_URL SAM_LOCAL_MOTO_CONTAINER=$MOTO_CONTAINER
export SAM_LOCAL_API_URL="http://127.0.0.1:$API_PORT"
# shellcheck disable=SC1091
source "$VENV/bin/activate"

checks=$(date +%s)
python scripts/sam_local_check.py invoke

sam local start-api --template .aws-sam/build/template.yaml --port "$API_PORT" --host 127.0.0.1 "${args[@]}" \
  >"$STATE/start-api.log" 2>&1 &
api_pid=$!
for _ in $(seq 600); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then break; fi
  kill -0 "$api_pid" 2>/dev/null || { cat "$STATE/start-api.log"; fail "sam local start-api stopped"; }
  sleep 0.2
done
python scripts/sam_local_check.py start-api
kill -TERM "$api_pid" 2>/dev/null || true
wait "$api_pid" 2>/dev/null || true
api_pid=

python scripts/sam_local_check.py moto-stopped
echo "sam-local: every check passed; set-up $((checks - started)) s, checks $(($(date +%s) - checks)) s"
