#!/usr/bin/env python3
"""`make deploy STAGE=dev|prod`: `sam deploy --config-env STAGE` with the stage's parameters from
samconfig.toml (read by SAM CLI's own reader and parser) and a `DeployDigest` of the build and
those parameters.

Why: SAM publishes a new version of a function, and moves its `live` alias, only when the code's
location or `AutoPublishCodeSha256` changes. A parameter that reaches a function only through its
environment (a rotated key, a new issuer, new limits) updates `$LATEST` and leaves `live`, the one
API Gateway calls, on the old configuration (aws/serverless-application-model#1640). The template
sets `AutoPublishCodeSha256: !Ref DeployDigest` on every function; this script makes the digest
change whenever the build or any parameter does. samconfig.toml holds `DeployDigest=SET-BY-MAKE-DEPLOY`,
which the template refuses, so a plain `sam deploy` stops before it changes anything.
"""

import argparse
import hashlib
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"


def stage_overrides(stage, config=ROOT / "samconfig.toml"):
    """The stage's parameters as SAM CLI reads them from samconfig.toml."""
    from samcli.cli.types import CfnParameterOverridesType
    from samcli.lib.config.samconfig import SamConfig

    samconfig = SamConfig(str(config.parent), config.name)
    text = samconfig.get_all(["deploy"], "parameters", env=stage).get("parameter_overrides", "")
    return CfnParameterOverridesType().convert(text, None, None)


def digest(parameters, artifacts):
    """Ten hex digits over every parameter but the digest itself and every built artifact."""
    h = hashlib.sha256()
    for key in sorted(parameters):
        if key != "DeployDigest":
            h.update(f"{key}={parameters[key]}\n".encode())
    for path in sorted(artifacts):
        h.update(str(path.relative_to(BUILD) if path.is_relative_to(BUILD) else path.name).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:10]


def edge_problems(parameters):
    """Behind CloudFront every function refuses the execute-api URL (403 NOT_THROUGH_EDGE): links
    in emails, the deletion page's origin check and the issuer must name the CloudFront URL. A
    template rule cannot test a substring, so the deploy does."""
    if parameters.get("EdgeProtection") != "cloudfront-waf":
        return []
    return [
        f"{name} is an execute-api URL, which EdgeProtection=cloudfront-waf refuses; set it to the EdgeUrl output"
        for name in ("TokenIssuer", "PublicBaseUrl")
        if ".execute-api." in parameters.get(name, "")
    ]


def built_artifacts():
    return [p for p in BUILD.rglob("*") if p.is_file()] if BUILD.exists() else []


def command(stage, parameters):
    rendered = " ".join(f"{k}='{v}'" if (v == "" or " " in v) else f"{k}={v}" for k, v in parameters.items())
    return ["sam", "deploy", "--config-env", stage, "--parameter-overrides", rendered]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("--dry-run", action="store_true", help="print the sam deploy command, run nothing")
    args = parser.parse_args()
    parameters = stage_overrides(args.stage)
    unset = sorted(k for k, v in parameters.items() if v.startswith("SET-") and k != "DeployDigest")
    if unset:
        sys.exit(f"deploy: {args.stage} still has placeholders in samconfig.toml: {', '.join(unset)} (docs/deploy.md)")
    problems = edge_problems(parameters)
    if problems:
        sys.exit("deploy: " + "; ".join(problems) + " (docs/deploy.md, Edge protection)")
    artifacts = built_artifacts()
    if not artifacts:
        sys.exit("deploy: nothing built: run `make sam-build` first")
    parameters["DeployDigest"] = digest(parameters, artifacts)
    cmd = command(args.stage, parameters)
    print("deploy: " + " ".join(cmd[:4]) + f" (DeployDigest={parameters['DeployDigest']})", flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        return
    sys.exit(subprocess.call(cmd, cwd=ROOT))


if __name__ == "__main__":
    main()
