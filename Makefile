# The two commands of the README are `make dev` and `make test`; the rest are their parts.
SHELL := /bin/bash
VENV ?= .venv
MOTO_PORT ?= 5005
API_PORT ?= 9000
export SAM_CLI_TELEMETRY := 0

STAGE ?= dev
.PHONY: deploy dev test browser unit lint template rehearsal checkov contract sam-build sam-local release sizes bench bench-enumeration bench-cost fuzz venv clean

# The virtualenv is rebuilt whenever requirements-dev.txt changes.
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(VENV)-checkov/.installed: requirements-checkov.txt
	python3 -m venv $(VENV)-checkov
	$(VENV)-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## make dev: moto on 127.0.0.1:$(MOTO_PORT), the table, the API on http://127.0.0.1:$(API_PORT).
dev: venv
	VENV=$(VENV) MOTO_PORT=$(MOTO_PORT) API_PORT=$(API_PORT) scripts/dev.sh

## make test: formatting, lints, unit and end-to-end tests (moto started by the harness, a real
## Chromium for the email link), template checks, and the deploy rehearsal.
test: venv browser lint unit template rehearsal

# Debian's chromium for the browser test; installed once (the machines run as root).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The end-to-end suite records every AWS call each function makes (tests/harness/aws_calls.rs) for
# the rehearsal's IAM check.
AWS_CALLS_LOG := $(abspath .local)/aws-calls.jsonl
unit:
	mkdir -p .local && rm -f $(AWS_CALLS_LOG)
	AWS_CALLS_LOG=$(AWS_CALLS_LOG) MOTO_PYTHON=$(abspath $(VENV))/bin/python cargo test --workspace

template: venv checkov
	$(VENV)/bin/cfn-lint template.yaml edge-waf.yaml
	$(VENV)/bin/sam validate --lint --template template.yaml

## make rehearsal: what AWS would refuse and moto does not check (tests/rehearsal): the template as
## CloudFormation receives it (SAM's translator) without dependency cycles and cfn-lint clean, each
## function's policy against the AWS calls `make unit` recorded, parameter strings through SAM CLI's parser.
rehearsal: venv
	cd tests/rehearsal && $(abspath $(VENV))/bin/python -m pytest -q -p no:cacheprovider

## make checkov: checkov on template.yaml; fails on any finding not in checkov-skips.txt (each with its reason).
checkov: $(VENV)-checkov/.installed
	VENV=$(VENV) scripts/checkov.sh

## make contract: schemathesis over every operation of openapi.yaml against the local stack (all checks).
contract: venv
	VENV=$(VENV) scripts/contract.sh

## make sam-build: what a deploy builds: `sam build` of template.yaml, cargo-lambda from the virtualenv.
## SAM builds one function at a time, each a `cargo lambda build --release --bin NAME` in the source tree
## (one link after another); one cargo invocation first builds them all side by side on every core,
## with the same package selection and profile, so SAM's own builds find them fresh.
sam-build: venv
	source $(VENV)/bin/activate && cargo lambda build --release && sam build --template template.yaml

## make sam-local: `sam local invoke` of every event in events/ and `sam local start-api` with a full flow,
## in containers (Docker) against moto in a container, after make sam-build; images built locally if missing.
## SAM_LOCAL_BASE_IMAGE=sam-default uses SAM's own image where a registry is reachable.
sam-local: venv
	VENV=$(VENV) scripts/sam_local.sh

## make deploy STAGE=dev|prod: sam deploy of the built stage with samconfig.toml's parameters and a
## DeployDigest, so every changed parameter reaches the functions' live alias (scripts/deploy.py says why).
deploy: venv
	source $(VENV)/bin/activate && python scripts/deploy.py $(STAGE)

## make release: every Lambda bootstrap (functions/*; not the admin program) with cargo-lambda (zig), and their sizes.
release: venv
	source $(VENV)/bin/activate && cargo lambda build --release
	scripts/sizes.sh

sizes:
	scripts/sizes.sh

## make bench: every Lambda built for release; per function the zipped size, init time against a local
## Runtime API beside a hello-world function, peak memory, and warm latency against moto (scripts/bench.py).
bench: venv
	source $(VENV)/bin/activate && cargo lambda build --release && cargo lambda build --release -p hello-lambda
	cargo build --release -p argon2-timing
	cargo build --quiet -p admin --bin partners -p e2e --bin devstack
	VENV=$(VENV) $(VENV)/bin/python scripts/bench.py

## make bench-enumeration: sign-in timing, unknown phone against known phone with a wrong password.
bench-enumeration: venv
	MOTO_PYTHON=$(abspath $(VENV))/bin/python cargo bench -p e2e --bench enumeration_timing

## make bench-cost: per flow, DynamoDB read and write units (DynamoDB's rules over the real requests, and
## moto's ReturnConsumedCapacity), KMS calls, SMS, emails, handler time; then a partner's monthly bill.
bench-cost: venv
	MOTO_PYTHON=$(abspath $(VENV))/bin/python cargo bench -p e2e --bench cost_model

## make fuzz: the property tests of every parser of outside input (shared/tests/properties.rs) with
## PROPTEST_CASES=20000 where make test runs 256 (the handler-level and valid-number ones a quarter of that).
fuzz:
	PROPTEST_CASES=20000 cargo test --release -p registration --test properties

clean:
	cargo clean
	rm -rf $(VENV) .local .aws-sam
