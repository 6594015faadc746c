"""Every parameter a function reads from its environment reaches the `live` alias on a deploy.

SAM publishes a new version of a function (the one its `live` alias, and so API Gateway, calls) only
when the code's location or `AutoPublishCodeSha256` changes, not when a parameter in its environment
does (aws/serverless-application-model#1640): a rotated key or a new issuer would update `$LATEST`
and change nothing users reach. `make deploy` (scripts/deploy.py) sets `DeployDigest`, from the
build and every parameter, as each function's `AutoPublishCodeSha256`.
"""

import importlib.util

import pytest

from conftest import DEPLOY_PARAMETERS, ROOT, transform
from graph import references

spec = importlib.util.spec_from_file_location("deploy", ROOT / "scripts" / "deploy.py")
deploy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(deploy)


def environment_parameters(template):
    """Each function's logical id -> the parameters its environment refers to (Globals included)."""
    parameters = set(template["Parameters"])
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    out = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        env = [globals_env, resource["Properties"].get("Environment", {})]
        out[name] = references(env, parameters)
    return out


def versions(transformed):
    """Each function's logical id -> its version's logical id (what the alias points to)."""
    return {
        resource["Properties"]["FunctionName"]["Ref"]: name
        for name, resource in transformed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version"
    }


def deployed(template, parameters):
    """The transformed template of a `make deploy` with these parameters (and a fixed build)."""
    values = {**DEPLOY_PARAMETERS, **parameters}
    values["DeployDigest"] = deploy.digest(values, [])
    return transform(template, values)


def changed(template, name):
    spec = template["Parameters"][name]
    if "AllowedValues" in spec:
        current = str(DEPLOY_PARAMETERS.get(name, spec.get("Default", "")))
        return next(str(v) for v in spec["AllowedValues"] if str(v) != current)
    if spec.get("Type") == "Number":
        return str(int(float(spec.get("Default", 0))) + 7)
    return str(DEPLOY_PARAMETERS.get(name, spec.get("Default", ""))) + "x"


def test_sam_alone_publishes_no_version_when_only_an_environment_parameter_changes(template):
    # The behaviour this file guards against, pinned to the SAM translator installed: the same
    # digest, another issuer, and no function gets a new version.
    before = transform(template, {"TokenIssuer": "https://a.example"})
    after = transform(template, {"TokenIssuer": "https://b.example"})
    assert versions(before) == versions(after)


def test_every_environment_parameter_changed_in_a_deploy_gives_each_function_reading_it_a_new_version(template):
    # GIVEN every parameter that reaches some function's environment
    readers = environment_parameters(template)
    names = sorted({p for ps in readers.values() for p in ps} - {"LocalEndpointUrl"})
    assert "TokenPublicKeys" in names and "SigningKeyArn" in names
    base = versions(deployed(template, {}))
    stale = []
    for name in names:
        # WHEN only that parameter changes between two `make deploy` runs
        after = versions(deployed(template, {name: changed(template, name)}))
        # THEN every function that reads it gets a new version (and its alias moves to it)
        for function, params in readers.items():
            if name in params and base[function] == after[function]:
                stale.append(f"{function} keeps its version when {name} changes")
    assert not stale, "\n".join(stale)


def test_a_plain_sam_deploy_is_refused_before_it_changes_anything(template):
    # samconfig.toml's placeholder is not a digest: CloudFormation refuses it at validation.
    import re

    from test_parameters import parse, stage_overrides

    for stage in ("dev", "prod"):
        value = parse(stage_overrides(stage))["DeployDigest"]
        assert not re.fullmatch(template["Parameters"]["DeployDigest"]["AllowedPattern"], value), stage


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_make_deploy_refuses_a_stage_with_placeholders_left(stage):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(ROOT / "scripts/deploy.py"), stage, "--dry-run"],
                         capture_output=True, text=True, check=False)
    assert run.returncode != 0 and "placeholders" in run.stderr, run.stdout + run.stderr


def test_behind_cloudfront_make_deploy_refuses_links_and_an_issuer_at_the_execute_api_url():
    # GIVEN a stage turning edge protection on, its URLs still the execute-api ones
    direct = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    parameters = {"EdgeProtection": "cloudfront-waf", "TokenIssuer": direct, "PublicBaseUrl": direct}
    # THEN both are named (every function would refuse them), and the CloudFront URL passes
    assert [p.split(" ")[0] for p in deploy.edge_problems(parameters)] == ["TokenIssuer", "PublicBaseUrl"]
    edge = "https://d111111abcdef8.cloudfront.net/prod"
    assert deploy.edge_problems({**parameters, "TokenIssuer": edge, "PublicBaseUrl": edge}) == []
    assert deploy.edge_problems({"EdgeProtection": "none", "TokenIssuer": direct}) == []
