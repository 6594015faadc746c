"""openapi.yaml is a valid OpenAPI 3.1 document, webhooks included.

Partners generate clients and receivers from it, and their generators refuse an invalid document;
the contract run (schemathesis) reads only `paths`, so a mistake under `webhooks` (an unquoted
comma in a YAML flow mapping turns half a description into a key) would reach partners unnoticed.
"""

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from conftest import ROOT


def test_the_contract_is_a_valid_openapi_31_document():
    document, _ = read_from_filename(str(ROOT / "openapi.yaml"))
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_webhook_names_the_three_standard_webhooks_headers():
    document, _ = read_from_filename(str(ROOT / "openapi.yaml"))
    parameters = document["components"]["parameters"]
    for name, item in document["webhooks"].items():
        headers = {parameters[p["$ref"].rsplit("/", 1)[1]]["name"] for p in item["post"]["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}, name
