"""IAM proven by the tests: every AWS action a function's handler called during the end-to-end
suite is allowed by that function's policy in the transformed template, and every action a policy
grants was called, or is listed below with the reason it is kept.

moto authorizes nothing, so a missing grant passes every test and answers AccessDenied (a 500) on
AWS. The calls come from `tests/harness/aws_calls.rs`, which records, per function, each request
the SDK sends as the IAM actions AWS checks it by (a transaction as the actions of its items), into
`.local/aws-calls.jsonl` while `make unit` runs the suite.
"""

import fnmatch
import json

import pytest

from conftest import LOCAL

CALLS = LOCAL / "aws-calls.jsonl"

# Granted, never called by a handler in the suite, and kept: the reason each is needed.
KEPT_UNUSED = {
    ("secretsmanager:GetSecretValue", "pepper-secret"): "read at cold start (App::config), before any handler "
    "runs; tests/e2e/template_secrets.rs holds each grant to the function's wiring",
    ("secretsmanager:GetSecretValue", "origin-secret"): "read at cold start (EdgeGuard::load in serve), "
    "granted only with EdgeProtection=cloudfront-waf; shared/src/edge.rs tests the guard",
    ("kms:Decrypt", "signing-key"): "the sealed mode's one Decrypt at cold start (App::token_issuer), "
    "granted only with SigningMode=sealed; tests/e2e/rotations.rs runs it",
    ("sqs:SendMessage", "dispatch-failures"): "sent by Lambda's event source mapping with the dispatcher's "
    "role, not by its code: the place in the stream of records the dispatcher gave up on (SAM grants it "
    "for the mapping's DestinationConfig)",
}


def resource_kinds(statement):
    """What a statement's Resource (or NotResource) covers, in the recorder's names."""
    if "NotResource" in statement:
        text = json.dumps(statement["NotResource"])
        if ":sns:*:*:*" in text:
            return {"phone"}  # every SNS ARN excluded: only direct-to-phone publishing is left
        raise AssertionError(f"NotResource the rehearsal cannot read: {text}")
    kinds = set()
    resources = statement.get("Resource", [])
    for resource in resources if isinstance(resources, list) else [resources]:
        kinds |= kinds_of(resource)
    return kinds


def kinds_of(resource):
    text = json.dumps(resource)
    if "Fn::If" in text and isinstance(resource, dict) and "Fn::If" in resource:
        _, yes, no = resource["Fn::If"]
        kinds = set()
        for branch in (yes, no):
            for item in branch if isinstance(branch, list) else [branch]:
                kinds |= kinds_of(item)
        return kinds
    if text == '{"Fn::GetAtt": ["Table", "Arn"]}':
        return {"table"}
    if "${Table.Arn}/index/" in text:
        return {"table-index"}
    if text == '{"Ref": "CodePepperSecret"}':
        return {"pepper-secret"}
    if text == '{"Ref": "OriginVerifySecret"}':
        return {"origin-secret"}
    if ":secret:${Table}/sumsub/" in text:
        return {"sumsub-secret"}
    if text in ('{"Ref": "SigningKeyArn"}', '{"Ref": "PreviousSigningKeyArn"}'):
        return {"signing-key"}
    if text == '{"Fn::GetAtt": ["FactorKey", "Arn"]}':
        return {"factor-key"}
    if ":ses:" in text and ":identity/" in text:
        return {"email-identity"}
    if ":ses:" in text and ":configuration-set/" in text:
        return {"email-configuration-set"}
    if text == '{"Fn::GetAtt": ["WebhookDispatchFailures", "Arn"]}':
        return {"dispatch-failures"}
    if ":sqs:" in text or "QueueArn" in text or "Queue" in text:
        return {"queue"}
    if text == '"*"':
        return {"*"}
    raise AssertionError(f"a Resource the rehearsal cannot name: {text}; add it to kinds_of")


def grants(transformed, logical_id):
    """(action pattern, resource kinds, partition patterns) for each Allow statement of the
    function's role; the patterns are its `dynamodb:LeadingKeys` condition's (None: any partition)."""
    role = transformed["Resources"][f"{logical_id}Role"]["Properties"]
    out = []
    for policy in if_branches(role.get("Policies", [])):
        for statement in if_branches(policy["PolicyDocument"]["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            actions = flatten_if(statement["Action"])
            kinds = resource_kinds(statement)
            leading = leading_keys(statement)
            out += [(action, kinds, leading) for action in actions]
    return out


def leading_keys(statement):
    """The partition-key patterns a statement's `dynamodb:LeadingKeys` condition allows, or None."""
    condition = statement.get("Condition", {})
    for operator, tests in condition.items():
        if "dynamodb:LeadingKeys" in tests:
            if operator != "ForAllValues:StringLike":
                raise AssertionError(f"a LeadingKeys condition the rehearsal cannot read: {operator}")
            patterns = tests["dynamodb:LeadingKeys"]
            return patterns if isinstance(patterns, list) else [patterns]
    return None


def if_branches(items):
    """A list of policies or statements with each Fn::If replaced by its branches (each is granted in
    some deploy); AWS::NoValue branches dropped."""
    out = []
    for item in items:
        if isinstance(item, dict) and "Fn::If" in item:
            out += if_branches([b for b in item["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}])
        else:
            out.append(item)
    return out


def flatten_if(value):
    """An Action as a list; both branches of an Fn::If (each is granted in some deploy)."""
    if isinstance(value, dict) and "Fn::If" in value:
        return flatten_if(value["Fn::If"][1]) + flatten_if(value["Fn::If"][2])
    return value if isinstance(value, list) else [value]


def needed_kinds(action, resource):
    # SES authorizes a send on the identity and on the configuration set it goes through.
    if action == "ses:SendEmail":
        return {"email-identity", "email-configuration-set"}
    return {resource}


def allowed(granted, action, resource, partition=""):
    needed = needed_kinds(action, resource)
    covered = set()
    for pattern, kinds, leading in granted:
        # The recorder keeps a partition key to its first '#': "WEBHOOKLOG#" for WEBHOOKLOG#*.
        if leading is not None and not any(fnmatch.fnmatchcase(partition + "x", p) for p in leading):
            continue
        if fnmatch.fnmatchcase(action, pattern):
            covered |= kinds if "*" not in kinds else needed
    return needed <= covered


@pytest.fixture(scope="module")
def calls():
    if not CALLS.exists():
        pytest.fail(f"{CALLS} is missing: `make unit` records it while the end-to-end suite runs (AWS_CALLS_LOG)")
    return [json.loads(line) for line in CALLS.read_text().splitlines() if line.strip()]


def test_every_aws_call_a_function_made_in_the_suite_is_allowed_by_its_policy(transformed, functions, calls):
    # GIVEN what each function called during the end-to-end suite
    by_binary = {binary: logical for logical, binary in functions.items()}
    denied = []
    for call in calls:
        logical = by_binary.get(call["function"])
        if logical is None:
            denied.append(f"{call['function']}: no such function in template.yaml")
            continue
        # WHEN AWS authorizes the call against the function's role
        # THEN the role allows it
        if not allowed(grants(transformed, logical), call["action"], call["resource"], call.get("partition", "")):
            where = f" ({call['partition']}…)" if call.get("partition") else ""
            denied.append(f"{logical} ({call['function']}): {call['action']} on {call['resource']}{where} is not granted")
    assert not denied, "AWS would answer AccessDenied (the handler a 500):\n" + "\n".join(sorted(set(denied)))


def test_every_action_a_policy_grants_was_called_or_is_kept_for_a_stated_reason(transformed, functions, calls):
    # GIVEN what each function's policy grants, and what the suite saw it call
    used = {(c["function"], c["action"], c["resource"]) for c in calls}
    unused = []
    for logical, binary in functions.items():
        for pattern, kinds, _ in grants(transformed, logical):
            for kind in kinds:
                if kind == "email-configuration-set":
                    kind = "email-identity"  # one send uses both
                if any(f == binary and fnmatch.fnmatchcase(a, pattern) and r == kind for f, a, r in used):
                    continue
                if (pattern, kind) in KEPT_UNUSED:
                    continue
                unused.append(f"{logical} ({binary}): {pattern} on {kind}")
    # THEN nothing is granted that no test exercised: remove it, or test it, or say why above
    assert not unused, "granted and never called in the suite:\n" + "\n".join(sorted(set(unused)))


def test_a_leading_keys_condition_covers_only_the_partitions_it_names():
    # GIVEN a grant of PutItem on the delivery log's partitions only
    granted = [("dynamodb:PutItem", {"table"}, ["WEBHOOKLOG#*"])]
    # THEN a put there is allowed, and one anywhere else is not
    assert allowed(granted, "dynamodb:PutItem", "table", "WEBHOOKLOG#")
    assert not allowed(granted, "dynamodb:PutItem", "table", "USER#")
    assert not allowed(granted, "dynamodb:PutItem", "table", "")


def test_a_transaction_is_authorized_per_item_with_no_transact_action(calls):
    # IAM has no dynamodb:TransactWriteItems action: the recorder must have split each transaction.
    assert not [c for c in calls if c["action"].startswith("dynamodb:Transact")]
    assert any(c["action"] == "dynamodb:ConditionCheckItem" for c in calls)
