#!/usr/bin/env bash
# `make dev`: moto on 127.0.0.1:$MOTO_PORT; the table and the SES sender created as template.yaml
# declares them; the API on http://127.0.0.1:$API_PORT on its real paths through `cargo lambda watch`.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
MOTO_PORT=${MOTO_PORT:-5005}
API_PORT=${API_PORT:-9000}
TABLE_NAME=${TABLE_NAME:-registration-local}
# Ignored by git, so cargo lambda watch does not rebuild when these files change.
STATE=.local
mkdir -p "$STATE"

# shellcheck disable=SC1091
source "$VENV/bin/activate"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local TABLE_NAME
export SES_SENDER=${SES_SENDER:-no-reply@registration.local}

children=()
stop() {
  trap - EXIT INT TERM
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "dev: stopped moto, the API and the webhook pipeline"
}
trap stop EXIT INT TERM

for port in "$MOTO_PORT" "$API_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "dev: port $port is in use; set MOTO_PORT or API_PORT" >&2
    exit 1
  fi
done

python scripts/moto_server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
children+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$MOTO_PORT") 2>/dev/null && break
  sleep 0.1
done

echo "dev: building the functions (the first build takes a few minutes)"
cargo build --quiet -p admin --bin partners -p e2e --bin devstack
# The signing key and the pepper's secret live in the emulator (KMS, Secrets Manager), as deployed;
# moto starts empty, so they are made anew each time and only their ARNs reach the functions.
target/debug/devstack env >"$STATE/keys.env"
target/debug/devstack setup

# The two partners the README and docs/local-testing.md name: the seed's id as a sandbox (nothing sent, code 12345), and a live
# one whose SMS and email really go through SNS and SES (to moto).
SANDBOX_PARTNER=bece038f-2e46-49f4-b25e-89cd38d6dc16
LIVE_PARTNER=6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b
register() {
  local id=$1
  shift
  target/debug/partners show "$id" >/dev/null 2>&1 || target/debug/partners add --id "$id" "$@" >/dev/null
}
register "$SANDBOX_PARTNER" --name "Seed partner (sandbox)" --sandbox --sms-countries GB,IE,DE,FR,ES,IT,NL,US
register "$LIVE_PARTNER" --name "Live partner (sends to moto)" --sms-countries GB,IE,DE,FR,ES,IT,NL,US --daily-sms-budget 500
# Identity verification in sandbox mode for the sandbox partner; its webhook secret, to sign the
# reviews a test sends in Sumsub's place (docs/kyc.md), is kept in the state directory.
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$STATE/sumsub-webhook-secret"
target/debug/partners sumsub "$SANDBOX_PARTNER" --mode sandbox --level basic-kyc-level --webhook-secret-stdin \
  <"$STATE/sumsub-webhook-secret" >/dev/null

# Values are quoted: cargo-lambda's env-file parser refuses base64 padding ('=') unquoted.
{
  cat "$STATE/keys.env"
  echo "TABLE_NAME=$TABLE_NAME"
  echo "TOKEN_ISSUER=http://127.0.0.1:$API_PORT"
  echo "PUBLIC_BASE_URL=http://127.0.0.1:$API_PORT"
  echo "EMAIL_SENDER=$SES_SENDER"
  echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
  echo "AWS_REGION=$AWS_REGION"
  echo "AWS_ACCESS_KEY_ID=local"
  echo "AWS_SECRET_ACCESS_KEY=local"
  # A local stack has no old functions beside the new ones (docs/factors.md, "Deploying these releases").
  echo "SMS_FACTOR_ENROLMENT=on"
  # Every request through the local router comes from 127.0.0.1: `make contract` raises the per-IP limits.
  [ -z "${RATE_LIMITS:-}" ] || echo "RATE_LIMITS=$RATE_LIMITS"
} | sed "s/^\([A-Z_]*\)=\(.*\)$/\1='\2'/" >"$STATE/functions.env"

# The webhook pipeline (docs/webhooks.md) on moto, as Lambda runs it: the table's stream to the
# dispatcher, the FIFO queue to the deliverer, posting to partners' endpoints (public HTTPS only)
# and to a receiver on this machine (tests/scripts/webhook_receiver.py, the virtualenv's python).
FACTOR_KEY_ARN=$(sed -n 's/^FACTOR_KEY_ARN=//p' "$STATE/keys.env")
FACTOR_KEY_ARN=$FACTOR_KEY_ARN MOTO_PYTHON="$(cd "$VENV" && pwd)/bin/python" \
  target/debug/devstack webhooks >"$STATE/webhooks.log" 2>&1 &
children+=($!)
WEBHOOK_QUEUE_URL=
for _ in $(seq 100); do
  WEBHOOK_QUEUE_URL=$(sed -n 's/^WEBHOOK_QUEUE_URL=//p' "$STATE/webhooks.log")
  [ -n "$WEBHOOK_QUEUE_URL" ] && break
  sleep 0.1
done
[ -n "$WEBHOOK_QUEUE_URL" ] || { echo "dev: the webhook pipeline did not start ($STATE/webhooks.log)" >&2; exit 1; }
WEBHOOK_RECEIVER=$(sed -n 's/^WEBHOOK_RECEIVER=//p' "$STATE/webhooks.log")
# What the `partners` program needs to reach this stack, for a shell to source.
cat >"$STATE/partners.env" <<ENV
export TABLE_NAME=$TABLE_NAME AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export FACTOR_KEY_ARN=$FACTOR_KEY_ARN WEBHOOK_QUEUE_URL=$WEBHOOK_QUEUE_URL
ENV

cat <<BANNER

  API         http://127.0.0.1:$API_PORT   (routes: Cargo.toml [workspace.metadata.lambda.watch.router])
  moto        $AWS_ENDPOINT_URL            (log: $STATE/moto.log)
  table       $TABLE_NAME
  partners    $SANDBOX_PARTNER  sandbox: sends nothing, every code is 12345; Sumsub in sandbox
              mode, webhook secret in $STATE/sumsub-webhook-secret
              $LIVE_PARTNER  live: SMS and email go to moto
              TABLE_NAME=$TABLE_NAME AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL target/debug/partners --help
  SMS sent    curl -s $AWS_ENDPOINT_URL/moto-api/data.json | jq .sns.SMS
  emails      curl -s $AWS_ENDPOINT_URL/moto-api/data.json | jq .ses.Message
              or: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL target/debug/devstack sms
  webhooks    the pipeline runs (log: $STATE/webhooks.log, with a line for each delivery the local
              receiver gets, checked by the Standard Webhooks library); an endpoint is public HTTPS
              or the local receiver, $WEBHOOK_RECEIVER + a path that says how it answers:
              /ok 200, /flaky/N 500 N times per event, /gone 410, /hang no answer, /redirect 302,
              /garbage not HTTP, /large a 64 MiB body. A retry waits its real backoff (30 s, 2 min...).
              source $STATE/partners.env   (the table, moto, FACTOR_KEY_ARN, WEBHOOK_QUEUE_URL)
              target/debug/partners webhooks add $SANDBOX_PARTNER --url $WEBHOOK_RECEIVER/ok \\
                --notify ops@partner.example.com   (then test|log|replay|disable|enable: docs/webhooks.md)
  Ctrl-C stops everything.

BANNER

# WATCH_ARGS: `make contract` passes --ignore-changes, so an edit during a run restarts no function.
# shellcheck disable=SC2086
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" --env-file "$STATE/functions.env" ${WATCH_ARGS:-} &
children+=($!)
wait -n "${children[@]}"
