"""Parameter strings as SAM CLI reads them: `samconfig.toml`'s stages and every
`--parameter-overrides` the docs tell a person to type, parsed by SAM CLI's own parser.

SAM CLI drops `Key=` (an empty value, unquoted) without a word, and a parameter that is not passed
keeps its previous value in an existing stack: a rotation step that "empties" a parameter that way
changes nothing on AWS.
"""

import re

import pytest
from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig

from conftest import ROOT

# What stands for a value the person fills in, in the docs and in samconfig.toml.
PLACEHOLDER = re.compile(r"^(SET-[A-Z-]+|<[^>]*>|…|\$\{?[A-Za-z_]+\}?|\$\([^)]*\))$")
OVERRIDES_IN_TEXT = re.compile(r"--parameter-overrides\s*(?:\\\s*\n\s*)?(\"[^\"]*\"|'[^']*')", re.S)


def parse(text):
    return CfnParameterOverridesType().convert(text, None, None)


def typed_keys(text):
    """The keys a person typed, `Key=` ones included, whatever the parser keeps."""
    return re.findall(r"(?:^|\s)([A-Za-z0-9]+)=", text)


def stage_overrides(stage):
    config = SamConfig(str(ROOT), "samconfig.toml")
    return config.get_all(["deploy"], "parameters", env=stage).get("parameter_overrides", "")


def documented_overrides():
    """(where, text) of every override string in the docs, the README and the scripts."""
    found = []
    for path in sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("scripts/*.sh")]):
        if path.is_file():
            for match in OVERRIDES_IN_TEXT.finditer(path.read_text(errors="replace")):
                if PLACEHOLDER.match(match.group(1)[1:-1]):
                    continue  # a script passing a variable it built; its own test checks it
                line = path.read_text(errors="replace")[: match.start()].count("\n") + 1
                found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1)[1:-1]))
    return found


def check_values(where, values, parameters):
    problems = []
    for key, value in values.items():
        spec = parameters.get(key)
        if spec is None:
            problems.append(f"{where}: {key} is not a parameter of template.yaml")
            continue
        if PLACEHOLDER.match(value):
            continue
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{where}: {key}={value!r} is not one of {spec['AllowedValues']}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(f"{where}: {key}={value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{where}: {key}={value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{where}: {key}={value} is below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{where}: {key}={value} is above {spec['MaxValue']}")
    return problems


def test_sam_cli_drops_an_empty_unquoted_value_and_keeps_a_quoted_one():
    # The parser's behaviour the rest of this file guards against, pinned to the SAM CLI installed.
    assert parse("Stage=prod PreviousSigningKeyArn=") == {"Stage": "prod"}
    assert parse('Stage=prod PreviousSigningKeyArn=""') == {"Stage": "prod", "PreviousSigningKeyArn": ""}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_in_samconfig_passes_every_required_parameter_as_sam_cli_reads_it(template, stage):
    # GIVEN the stage's parameter_overrides, read by SAM CLI's own config reader and parser
    text = stage_overrides(stage)
    values = parse(text)
    parameters = template["Parameters"]
    # THEN nothing typed is dropped, every key is a parameter, every set value is one the template accepts
    dropped = set(typed_keys(text)) - set(values)
    assert not dropped, f"SAM CLI drops {sorted(dropped)} from {stage}: write Key=\"\" for an empty value"
    assert not check_values(f"samconfig.toml [{stage}]", values, parameters)
    # AND every parameter without a default is there (CloudFormation refuses a create without it)
    required = {k for k, spec in parameters.items() if "Default" not in spec}
    assert required <= set(values), f"{stage} lacks {sorted(required - set(values))}"
    assert values["Stage"] == stage


def test_prod_in_samconfig_names_an_alarm_topic(template):
    # The template refuses a prod stage without one (its AlarmsNeedATopicInProd rule).
    assert "AlarmTopicArn" in parse(stage_overrides("prod"))


def test_every_override_string_in_the_docs_means_what_it_says(template):
    # GIVEN every --parameter-overrides string a person is told to type
    documented = documented_overrides()
    problems = []
    for where, text in documented:
        # WHEN SAM CLI parses it
        values = parse(text)
        # THEN it keeps every key typed (an empty value must be quoted) and each value is accepted
        dropped = set(typed_keys(text)) - set(values)
        if dropped:
            problems.append(f"{where}: SAM CLI drops {sorted(dropped)} (write Key=\"\" for an empty value)")
        problems += check_values(where, values, template["Parameters"])
    assert not problems, "\n".join(problems)


def test_make_deploy_hands_sam_cli_every_value_as_written_empty_ones_included():
    # GIVEN a stage's parameters with an empty value and one with a space, as samconfig may hold them
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy", ROOT / "scripts" / "deploy.py")
    deploy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy)
    parameters = {
        "Stage": "prod",
        "SmsSenderId": "",
        "RateLimits": "send=60,verify=60",
        "SealedSigningKey": "sealed-1:Nz+/Rh==",
        "Odd": "a b",
    }
    # WHEN `make deploy` renders its --parameter-overrides and SAM CLI parses it
    command = deploy.command("prod", parameters)
    # THEN SAM CLI gets every value back, nothing dropped
    assert command[:4] == ["sam", "deploy", "--config-env", "prod"]
    assert parse(command[-1]) == parameters
