"""Parameters that would deploy a broken stage are refused by the template at deploy time, as
CloudFormation refuses them before it makes anything: each parameter's AllowedPattern, AllowedValues,
MinValue and MaxValue, then the template's Rules, evaluated here with CloudFormation's semantics
for the functions rules may use (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains, Ref)."""

import re

import pytest

from conftest import DEPLOY_PARAMETERS

VALID_PROD = {
    **DEPLOY_PARAMETERS,
    "TokenPublicKeys": "1234abcd-12ab-34cd-56ef-1234567890ab:" + "B" + "A" * 86,
}


def values_with_defaults(template, given):
    values = {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}
    values.update(given)
    return values


def evaluate(node, values):
    if isinstance(node, dict):
        ((name, args),) = node.items()
        if name == "Ref":
            return values[args]
        if name == "Fn::Equals":
            return str(evaluate(args[0], values)) == str(evaluate(args[1], values))
        if name == "Fn::Not":
            return not evaluate(args[0], values)
        if name == "Fn::And":
            return all(evaluate(a, values) for a in args)
        if name == "Fn::Or":
            return any(evaluate(a, values) for a in args)
        if name == "Fn::Contains":
            return str(evaluate(args[1], values)) in [str(evaluate(v, values)) for v in args[0]]
        raise AssertionError(f"a rule function the rehearsal does not evaluate: {name}")
    return node


def refusals(template, given):
    """What CloudFormation says no to, for these parameter values (an empty list: it deploys)."""
    values = values_with_defaults(template, given)
    found = []
    for name, spec in template["Parameters"].items():
        if name not in values:
            found.append(f"{name}: must have a value")
            continue
        value = values[name]
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            found.append(f"{name}: {value!r} does not match its pattern")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            found.append(f"{name}: {value!r} is not allowed")
        if spec.get("Type") == "Number":
            number = float(value)
            if "MinValue" in spec and number < float(spec["MinValue"]):
                found.append(f"{name}: {value} is below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                found.append(f"{name}: {value} is above {spec['MaxValue']}")
    for rule_name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], values):
                found.append(f"{rule_name}: {assertion['AssertDescription']}")
    return found


def test_a_complete_prod_stage_is_accepted(template):
    assert refusals(template, VALID_PROD) == []


@pytest.mark.parametrize(
    "change, refused_by",
    [
        ({"AlarmTopicArn": ""}, "AlarmsNeedATopicInProd"),
        ({"ThrottleRateLimit": "0"}, "ThrottleRateLimit"),
        ({"TokenThrottleBurstLimit": "0"}, "TokenThrottleBurstLimit"),
        ({"RateLimits": "send=30;verify=30"}, "RateLimits"),
        ({"RateLimits": "signup=5"}, "RateLimits"),
        ({"RateLimits": "send=-1"}, "RateLimits"),
        ({"DomainName": "auth.example.com"}, "DomainNeedsCertificate"),
        ({"EdgeProtection": "cloudfront-waf"}, "EdgeNeedsWebAcl"),
        ({"TokenPublicKeys": "SET-ME"}, "TokenPublicKeys"),
        ({"DeployDigest": "SET-BY-MAKE-DEPLOY"}, "DeployDigest"),
        ({"SigningKeyArn": "arn:aws:kms:eu-west-1:111122223333:alias/tokens"}, "SigningKeyArn"),
    ],
)
def test_a_value_that_would_deploy_a_broken_stage_is_refused_before_anything_is_made(template, change, refused_by):
    # GIVEN a complete prod stage with one value a person could get wrong
    # WHEN CloudFormation checks the parameters and the rules
    found = refusals(template, {**VALID_PROD, **change})
    # THEN it says no, naming the parameter or rule
    assert any(f.startswith(refused_by) for f in found), found


def test_a_dev_stage_may_go_without_an_alarm_topic(template):
    assert refusals(template, {**VALID_PROD, "Stage": "dev", "AlarmTopicArn": ""}) == []
