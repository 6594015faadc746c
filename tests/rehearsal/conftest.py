"""The deploy rehearsal: what AWS would refuse, checked here because moto checks none of it.

moto enforces no IAM, no CloudFormation dependency graph and no quota, and SAM CLI's parameter
parsing never reaches it. These tests read the template as CloudFormation receives it (after SAM's
own translator), the policies in it, and the parameter strings a person types, with SAM CLI's own
code, and fail where a deploy or a call on AWS would.
"""

import copy
import json
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"


def load_template():
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse((ROOT / "template.yaml").read_text())


def transform(template, parameters=None):
    parameters = {**DEPLOY_PARAMETERS, **(parameters or {})}
    """`template` as CloudFormation receives it from `sam deploy`: SAM's translator, with each
    function's code at a fake S3 location (what `sam package` puts there)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    from samtranslator.translator.transform import transform as sam_transform

    class NoManagedPolicies:
        def load(self):
            return {}

    template = copy.deepcopy(template)
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://rehearsal-bucket/code.zip"
    return sam_transform(template, parameters, NoManagedPolicies())


# Values a deploy passes (`make deploy` adds DeployDigest): what the transform needs to resolve.
DEPLOY_PARAMETERS = {
    "Stage": "prod",
    "SigningKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "TokenIssuer": "https://auth.example.com",
    "PublicBaseUrl": "https://auth.example.com",
    "EmailSender": "no-reply@example.com",
    "AlarmTopicArn": "arn:aws:sns:eu-west-1:111122223333:pager",
    "DeployDigest": "0123456789",
}


@pytest.fixture(scope="session")
def template():
    return load_template()


@pytest.fixture(scope="session")
def transformed(template):
    out = transform(template)
    LOCAL.mkdir(exist_ok=True)
    (LOCAL / "transformed-template.json").write_text(json.dumps(out, indent=1, default=str))
    return out


@pytest.fixture(scope="session")
def functions(template):
    """Each function's logical id and its binary (crate) name."""
    return {
        name: resource["Metadata"]["BuildProperties"]["Binary"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
