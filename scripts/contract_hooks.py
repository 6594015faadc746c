"""schemathesis hooks for `make contract` (loaded through SCHEMATHESIS_HOOKS by scripts/contract.sh)."""

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
