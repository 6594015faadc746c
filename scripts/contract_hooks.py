"""schemathesis hooks for `make contract` (loaded through SCHEMATHESIS_HOOKS by scripts/contract.sh)."""

import os

import schemathesis


@schemathesis.hook
def filter_body(ctx, body):
    """Leave out request bodies that are not UTF-8 at all.

    The local router (`cargo lambda watch`) cannot put such a body declared as `application/json`
    into an API Gateway event and answers 500 itself, before any function runs; sent as
    `application/octet-stream` it arrives base64-encoded and the function answers 400. The functions'
    own handling of bytes that are not UTF-8 is tested end to end (tests/e2e/malformed.rs). Bodies
    that are UTF-8 but not JSON are still sent.
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Never end the session whose token every bearer operation of the run uses.

    The stateful phase follows `GET /v2/customer/sessions` to `DELETE /v2/customer/sessions/{id}`
    with the ids it listed, the run's own session among them; ending it would leave every later
    bearer operation answering 401 and so untested. That id is swapped for one no session has (a
    404, as for any unknown id). Ending a session is tested end to end (tests/e2e/account_sessions.rs).
    """
    own = os.environ.get("CONTRACT_OWN_SESSION")
    params = case.path_parameters
    if own and params and params.get("id") == own and case.method.upper() == "DELETE":
        params["id"] = "0" * 32
