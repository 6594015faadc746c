"""The template as CloudFormation receives it: no circular dependency, and cfn-lint clean."""

import json
import subprocess
import sys

from conftest import LOCAL, ROOT, transform
from graph import cycles, dependencies


def test_cloudformation_can_order_every_resource_of_the_transformed_template(transformed):
    # GIVEN the template after SAM's transform (aliases, deployment groups, versions, roles)
    # WHEN CloudFormation orders the resources for creation
    found = cycles(dependencies(transformed))
    # THEN no resource waits, through others, on itself
    assert not found, "Circular dependency between resources (CloudFormation refuses the stack):\n" + "\n".join(c.path for c in found)


def test_the_cycle_check_finds_an_alarm_that_names_the_api_in_a_deployment_preference(template):
    # GIVEN a function whose canary alarm watches the API, as the first deploy rehearsal found
    broken = json.loads(json.dumps(template))
    broken["Resources"]["RehearsalAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": "AWS/ApiGateway", "MetricName": "5xx", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
            "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "Api"}}],
        },
    }
    function = broken["Resources"]["SignupFunction"]["Properties"]
    function["DeploymentPreference"] = {"Type": "Canary10Percent5Minutes", "Alarms": [{"Ref": "RehearsalAlarm"}]}
    # WHEN it is transformed and ordered
    found = cycles(dependencies(transform(broken)))
    # THEN the check puts the alias, its deployment group, the alarm and the API in one loop
    loop = {"SignupFunctionAliaslive", "SignupFunctionDeploymentGroup", "RehearsalAlarm", "Api"}
    assert any(loop <= c.members for c in found), found


def test_cfn_lint_accepts_the_transformed_template(transformed):
    # GIVEN the transformed template written out as CloudFormation receives it
    path = LOCAL / "transformed-template.json"
    # WHEN cfn-lint reads it (the untransformed check in `make template` misses what SAM generates)
    lint = subprocess.run(
        [str(ROOT / ".venv/bin/cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True, text=True, check=False,
    )
    # THEN it reports nothing. W2001 "parameter not used" is the transform's doing: SAM writes a
    # DeploymentPreference's Type and AutoPublishCodeSha256 into the resources as values, not Refs.
    found = [line[:300] for line in lint.stdout.splitlines() if ":W2001:" not in line]
    assert not found and not lint.stderr.strip(), "\n".join(found[:40]) + lint.stderr[:2000]
