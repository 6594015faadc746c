"""The checks of `make sam-local` (scripts/sam_local.sh starts the containers and runs this).

1. `sam local invoke <LogicalId> -e events/<x>.json` for every event in events/, in an order where
   each gets what it needs from the steps before (the access token, refresh token, session id or link
   token its placeholder stands for), on the sandbox partner the events name (code 12345, nothing
   sent). Each answer's status and body shape is asserted.
2. `sam local start-api` on the real template, and a full flow through SAM's API Gateway emulation
   with real HTTP on the live partner, whose SMS and email go to moto: signup, the code from moto,
   confirm, sign in, refresh, email add, the link from the email moto captured, its button, profile
   PATCH and GET showing KYC_0, revoke.
3. moto stopped: a function answers a 503 UNAVAILABLE envelope well inside its timeout.

Usage: python scripts/sam_local_check.py (the environment comes from scripts/sam_local.sh).
"""

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pyotp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, ".aws-sam", "build", "template.yaml")
MOTO = os.environ["SAM_LOCAL_MOTO_URL"]  # as the host reaches it
API = os.environ.get("SAM_LOCAL_API_URL", "http://127.0.0.1:3000")
LIVE_PARTNER = "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
SAM_ARGS = json.loads(os.environ["SAM_LOCAL_ARGS"])  # --env-vars, --parameter-overrides, network, image
PHONE = "+447871234567"
NEW_PHONE = "+447871234999"
SANDBOX_CODE = "12345"

passed = []
failures = []
# When each phone last got (or may have got) a code: a second send within 60 s would meet the
# cooldown under test. A resend counts even when it met the cooldown itself: it may not have.
sent_at = {}
SENDS = {"signup.json", "phone-resend.json", "phone-change.json", "password-forgot.json", "deletion-page-phone.json"}


def wait_out_cooldown(phone):
    wait = 61 - (time.monotonic() - sent_at.get(phone, -1e9))
    if wait > 0:
        print(f"     waiting {wait:.0f} s for the 60 s cooldown of {phone}", flush=True)
        time.sleep(wait)


def logical_id(function):
    return "".join(part.capitalize() for part in function.split("-")) + "Function"


def function_of(event_file, functions):
    stem = os.path.basename(event_file)[: -len(".json")]
    return max((f for f in functions if stem.startswith(f)), key=len)


# The `Duration` of the last invoke's REPORT line, in ms.
last_duration_ms = [None]


# Every event file invoked so far: the invoke phase must have used each one in events/.
invoked = set()


def sam_invoke(function, event_path):
    """`sam local invoke` of `function` with the event at `event_path`: the run, and the last line
    of its output that is JSON (the function's answer), or None."""
    run = subprocess.run(
        ["sam", "local", "invoke", logical_id(function), "-e", event_path, "--template", TEMPLATE, *SAM_ARGS],
        capture_output=True,
        text=True,
        timeout=180,
    )
    for line in reversed(run.stdout.strip().splitlines()):
        try:
            return run, json.loads(line)
        except ValueError:
            continue
    return run, None


def invoke(event_name, replace=None, body=None, expect=None, label=None):
    """Invokes the event's function with sam local; checks the answer with `expect(status, headers, body)`."""
    invoked.add(event_name)
    functions = sorted(os.listdir(os.path.join(ROOT, "functions")))
    path = os.path.join(ROOT, "events", event_name)
    text = open(path, encoding="utf-8").read()
    for placeholder, value in (replace or {}).items():
        text = text.replace(placeholder, value)
    event = json.loads(text)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(event, f)
    function = function_of(path, functions)
    started = time.monotonic()
    phone = re.search(r"\+44\d{10}", urllib.parse.unquote(event.get("body") or ""))
    if event_name in SENDS and phone:
        sent_at[phone.group(0)] = started
    run, answer = sam_invoke(function, f.name)
    os.unlink(f.name)
    took = time.monotonic() - started
    report = re.search(r"REPORT RequestId.*?Duration: ([\d.]+) ms", run.stdout + run.stderr)
    last_duration_ms[0] = float(report.group(1)) if report else None
    name = label or event_name
    if run.returncode != 0 or not isinstance(answer, dict) or "statusCode" not in answer:
        failures.append(f"{name}: sam local invoke failed ({run.returncode}): {run.stderr[-600:]}")
        print(f"FAIL {name}: no answer", flush=True)
        return None
    status = answer["statusCode"]
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    raw = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        import base64

        raw = base64.b64decode(raw).decode("utf-8", "replace")
    parsed = None
    if headers.get("content-type", "").startswith("application/json") and raw:
        parsed = json.loads(raw)
    try:
        expect(status, headers, parsed if parsed is not None else raw)
        passed.append(name)
        print(f"ok   {name} ({function}, {status}, {took:.1f} s)", flush=True)
    except AssertionError as why:
        failures.append(f"{name}: {why}")
        print(f"FAIL {name} ({function}, {status}): {why}", flush=True)
    return parsed if parsed is not None else raw


def status_is(code, check=None):
    def expect(status, headers, body):
        assert status == code, f"status {status}, not {code}: {str(body)[:300]}"
        if check:
            check(headers, body)

    return expect


def envelope(code, error):
    def check(headers, body):
        assert isinstance(body, dict), f"not the JSON envelope: {str(body)[:200]}"
        assert body.get("error") == error, f"error {body.get('error')!r}, not {error!r}"
        assert isinstance(body.get("errorId"), int) and body.get("systemId") == "registration", body

    return status_is(code, check)


def token_response(headers, body):
    assert body.get("token_type") == "Bearer", body
    assert body.get("access_token") and body.get("refresh_token") and body.get("expires_in") == 900, body


def result_ok(headers, body):
    assert body == {"result": "ok"}, body


def page_with(text):
    def check(headers, body):
        assert headers.get("content-type", "").startswith("text/html"), headers
        assert text in body, f"{text!r} not on the page"
        assert "<script" not in body

    return check


def bearer(tokens):
    return {"Bearer REPLACE_WITH_AN_ACCESS_TOKEN": f"Bearer {tokens['access_token']}"}


def invocations():
    # Phone signup on the sandbox partner (code 12345), and bad input.
    invoke("signup.json", expect=status_is(200, result_ok))
    invoke("signup.json", body={"phone": "12", "password": "1234Qwerty"}, expect=envelope(400, "VALIDATION"), label="signup.json (bad phone)")
    # The same route as a named stage (path /dev/v2/...) and a custom domain (no stage segment) send it.
    invoke("signup-named-stage.json", body={"phone": "+447871230020", "password": "1234Qwerty"}, expect=status_is(200, result_ok))
    invoke("signup-custom-domain.json", body={"phone": "+447871230021", "password": "1234Qwerty"}, expect=status_is(200, result_ok))
    tokens = invoke("phone-confirm.json", body={"phone": PHONE, "code": SANDBOX_CODE}, expect=status_is(200, token_response))
    if not isinstance(tokens, dict) or "access_token" not in tokens:
        raise SystemExit("no tokens from phone-confirm: the rest cannot run")

    def cooldown_or_ok(status, headers, body):
        assert (status, body) == (200, {"result": "ok"}) or (status == 429 and body.get("error") == "TOO_MANY_REQUESTS"), (status, body)

    invoke("phone-resend.json", expect=cooldown_or_ok)
    signed_in = invoke("token-password.json", expect=status_is(200, token_response))
    form_signed_in = invoke("token-password-form.json", expect=status_is(200, token_response))
    invoke("token-refresh.json", replace={"REPLACE_WITH_A_REFRESH_TOKEN": signed_in["refresh_token"]}, expect=status_is(200, token_response))
    # The second step of a sign-in, with a token no sign-in gave: the grant is served and refuses it.
    invoke("token-mfa.json", expect=envelope(400, "invalid_grant"))
    # A step-up of a live session of an account without a second factor: read, and refused as such.
    invoke(
        "token-step-up.json",
        replace={"REPLACE_WITH_A_REFRESH_TOKEN": form_signed_in["refresh_token"]},
        expect=envelope(400, "invalid_request"),
    )
    invoke("jwks.json", expect=status_is(200, lambda h, b: b["keys"] and b["keys"][0]["alg"] == "ES256"))

    # Profile, email and its link (a sandbox partner's link is in the answer, nothing is mailed).
    auth = bearer(tokens)
    invoke("profile-get.json", replace=auth, expect=status_is(200, lambda h, b: b["phone"] == PHONE and b["phoneVerified"]))
    invoke("profile-update.json", replace=auth, expect=status_is(204))
    added = invoke("email-add.json", replace=auth, expect=status_is(200, lambda h, b: "confirmationLink" in b["sandbox"]))
    link_token = added["sandbox"]["confirmationLink"].split("token=", 1)[1] if added else "missing"
    invoke("email-confirm.json", replace={"REPLACE_WITH_THE_TOKEN_FROM_THE_EMAIL": link_token}, expect=status_is(200, page_with("Confirm my email address")))
    for variant in ("email-confirm-named-stage.json", "email-confirm-custom-domain.json"):
        invoke(variant, replace={"REPLACE_WITH_THE_TOKEN_FROM_THE_EMAIL": link_token}, expect=status_is(200, page_with("Confirm my email address")))
    invoke("email-confirm-post.json", body=f"token={urllib.parse.quote(link_token)}", expect=status_is(200, page_with("Your email is confirmed")))
    # The address is confirmed: nothing waits for a link.
    invoke("email-resend.json", replace=auth, expect=envelope(400, "VALIDATION"))
    kyc_0 = invoke("profile-get.json", replace=auth, expect=status_is(200, lambda h, b: b["kycLevel"] == "KYC_0"), label="profile-get.json (KYC_0)")

    # Identity verification, Sumsub in sandbox mode: an SDK token with no call to Sumsub, then the
    # partner's test playing Sumsub, a GREEN review signed with its webhook secret; a forged one first.
    invoke("kyc-sumsub-token.json", replace=auth, expect=status_is(200, lambda h, b: b["token"].startswith("_sandbox-act-") and b["expiresIn"] == 600))
    user_id = kyc_0["userId"] if isinstance(kyc_0, dict) else "usr:none"
    webhook = json.loads(open(os.path.join(ROOT, "events", "sumsub-webhook.json"), encoding="utf-8").read())
    review = webhook["body"].replace("usr:REPLACE_WITH_A_USER_ID", user_id)
    digest = hmac.new(os.environ["SAM_LOCAL_WEBHOOK_SECRET"].encode(), review.encode(), hashlib.sha256).hexdigest()
    invoke("sumsub-webhook.json", replace={"REPLACE_WITH_THE_HMAC_OF_THE_BODY": "00" * 32}, body=review, expect=envelope(401, "WEBHOOK_SIGNATURE_INVALID"), label="sumsub-webhook.json (forged)")
    invoke("sumsub-webhook.json", replace={"REPLACE_WITH_THE_HMAC_OF_THE_BODY": digest}, body=review, expect=status_is(200, lambda h, b: b == {"result": "applied", "verification": "approved"}))
    invoke("sumsub-webhook.json", replace={"REPLACE_WITH_THE_HMAC_OF_THE_BODY": digest}, body=review, expect=status_is(200, lambda h, b: b == {"result": "ignored", "reason": "stale"}), label="sumsub-webhook.json (again)")
    invoke("profile-get.json", replace=auth, expect=status_is(200, lambda h, b: b["kycLevel"] == "KYC_1" and b["identityVerification"]["status"] == "approved"), label="profile-get.json (KYC_1)")

    # Sessions: list, end the token-password one, end every other.
    listed = invoke("sessions-list.json", replace=auth, expect=status_is(200, lambda h, b: len(b["sessions"]) >= 2))
    other = next(s["id"] for s in listed["sessions"] if not s["current"]) if listed else "none"
    invoke("session-end.json", replace={**auth, "REPLACE_WITH_A_SESSION_ID": other}, expect=status_is(204))
    invoke("sessions-end-others.json", replace=auth, expect=status_is(204))

    # A phone account cannot add a phone (it changes it, below).
    invoke("phone-add.json", replace=auth, expect=envelope(409, "PHONE_ALREADY_SET"))
    invoke("phone-add-confirm.json", replace=auth, expect=envelope(409, "PHONE_ALREADY_SET"))

    # A second factor (issue 27): a step-up by a code to the phone (the sandbox's 12345), an
    # authenticator enrolled with pyotp's code, listed, new recovery codes after a step-up with a
    # recovery code, and removed again (the recovery below signs in with the password alone).
    fresh = invoke("token-password.json", expect=status_is(200, token_response), label="token-password.json (before a factor)") or {}
    wait_out_cooldown(PHONE)
    invoke("step-up-code.json", replace=bearer(fresh or tokens), expect=status_is(200, lambda h, b: b == {"result": "ok", "expiresIn": 300}))
    sent_at[PHONE] = time.monotonic()
    raised = invoke("token-step-up-sms.json", replace={"REPLACE_WITH_A_REFRESH_TOKEN": fresh.get("refresh_token", "none")}, expect=status_is(200, token_response)) or tokens
    started = invoke("totp-enrol.json", replace=bearer(raised), expect=status_is(201, lambda h, b: b["otpauthUri"].startswith("otpauth://totp/"))) or {}
    app_code = pyotp.parse_uri(started["otpauthUri"]).now() if started else "000000"
    factor = {"factorId": started.get("factorId", "none"), "code": app_code}
    verified = invoke("totp-verify.json", replace=bearer(raised), body=factor, expect=status_is(200, lambda h, b: len(b["recoveryCodes"]) == 10)) or {}
    invoke("factors-list.json", replace=bearer(raised), expect=status_is(200, lambda h, b: b["factors"][0]["id"] == factor["factorId"]))
    recovery = (verified.get("recoveryCodes") or ["none"])[0]
    by_recovery = f"grant_type=step_up&refresh_token={urllib.parse.quote(raised['refresh_token'])}&password=1234Qwerty&recovery_code={recovery}"
    stepped = invoke("token-step-up.json", body=by_recovery, expect=status_is(200, token_response), label="token-step-up.json (recovery code)") or raised
    invoke("recovery-codes-regenerate.json", replace=bearer(stepped), expect=status_is(200, lambda h, b: len(b["recoveryCodes"]) == 10))
    invoke("factor-remove.json", replace={**bearer(stepped), "REPLACE_WITH_A_FACTOR_ID": factor["factorId"]}, expect=status_is(204))
    # Codes by SMS as the second factor (the account's address is confirmed above): enrolled, then a
    # sign-in asks for the code, sends it (the sandbox's 12345) and completes with it; removed again
    # from that aal2 session, so the recovery by SMS below applies.
    # Without a factor again, its enrolment needs a recent step-up by a code to the phone (a recovery
    # code does not count): the session raised by SMS above, a minute or so ago, still has it.
    by_sms = invoke("sms-factor-enrol.json", replace=bearer(raised), expect=status_is(201, lambda h, b: b["type"] == "sms" and len(b["recoveryCodes"]) == 10)) or {}
    asked = invoke("token-password.json", expect=status_is(403, lambda h, b: b["error"] == "mfa_required" and b["data"]["factors"] == ["sms", "recovery_code"]), label="token-password.json (codes by SMS)") or {}
    mfa_token = (asked.get("data") or {}).get("mfaToken", "none")
    wait_out_cooldown(PHONE)
    invoke("sign-in-code.json", replace={"REPLACE_WITH_AN_MFA_TOKEN": mfa_token}, expect=status_is(200, lambda h, b: b == {"result": "ok", "expiresIn": 300}))
    sent_at[PHONE] = time.monotonic()
    second = invoke("token-mfa-sms.json", replace={"REPLACE_WITH_AN_MFA_TOKEN": urllib.parse.quote(mfa_token)}, body=f"grant_type=mfa&mfa_token={urllib.parse.quote(mfa_token)}&sms_code={SANDBOX_CODE}", expect=status_is(200, token_response)) or stepped
    invoke("factor-remove.json", replace={**bearer(second), "REPLACE_WITH_A_FACTOR_ID": by_sms.get("factorId", "none")}, expect=status_is(204), label="factor-remove.json (codes by SMS)")

    # Email-first signup (seed 003), its export and its deletion.
    invoke("signup-email.json", expect=status_is(200, lambda h, b: b == {}))
    by_email = invoke("signup-email-confirm.json", expect=status_is(200, token_response))
    invoke("account-export.json", replace=bearer(by_email), expect=status_is(200, lambda h, b: "attachment" in h["content-disposition"] and b["email"] == "user@example.com"))
    invoke("account-delete.json", replace=bearer(by_email), body={"password": "A9#bL8@z"}, expect=status_is(204))
    invoke("account-export.json", replace=bearer(by_email), expect=envelope(401, "UNAUTHORIZED"), label="account-export.json (deleted account)")

    # Recovery by SMS and by email (an address nobody has: the same answer, a decoy code), a change.
    wait_out_cooldown(PHONE)
    invoke("password-forgot.json", body={"phone": PHONE}, expect=status_is(200, result_ok))
    invoke("password-reset.json", body={"phone": PHONE, "code": SANDBOX_CODE, "password": "Reset-pass-2027"}, expect=status_is(200, result_ok))
    invoke("password-forgot-email.json", body={"email": "nobody@example.com"}, expect=status_is(200, result_ok))
    invoke("password-reset-email.json", body={"email": "nobody@example.com", "code": "654321", "password": "Reset-pass-2028"}, expect=envelope(400, "CODE_INVALID"))
    again = invoke("token-password.json", body={"grant_type": "password", "username": PHONE, "password": "Reset-pass-2027"}, expect=status_is(200, token_response), label="token-password.json (after reset)")
    invoke("password-change.json", replace=bearer(again), body={"oldPassword": "Reset-pass-2027", "newPassword": "Changed-pass-2029"}, expect=status_is(200, result_ok))
    invoke("revoke.json", replace={"REPLACE_WITH_A_REFRESH_TOKEN": again["refresh_token"]}, expect=status_is(200))

    # The phone moves to a new number (password first, then the code), from a new session.
    latest = invoke("token-password.json", body={"grant_type": "password", "username": PHONE, "password": "Changed-pass-2029"}, expect=status_is(200, token_response), label="token-password.json (after change)")
    invoke("phone-change.json", replace=bearer(latest), body={"phone": NEW_PHONE, "password": "Changed-pass-2029"}, expect=status_is(200, result_ok))
    invoke("phone-change-confirm.json", replace=bearer(latest), body={"phone": NEW_PHONE, "code": SANDBOX_CODE}, expect=status_is(200, lambda h, b: b["phone"] == NEW_PHONE))

    # The deletion page deletes the account with the code its (new) number gets.
    invoke("deletion-page.json", expect=status_is(200, page_with("Delete your account")))
    wait_out_cooldown(NEW_PHONE)
    invoke("deletion-page-phone.json", body=f"phone={urllib.parse.quote(NEW_PHONE)}", expect=status_is(200, page_with("Check your messages")))
    invoke("deletion-page-code.json", body=f"phone={urllib.parse.quote(NEW_PHONE)}&code={SANDBOX_CODE}", expect=status_is(200, page_with("Your account was deleted")))

    # The webhook functions, as their event sources call them: an event item the table no longer
    # holds is dispatched to no endpoint, and its delivery task is done without a post.
    invoke_source("webhook-dispatch.json", expect_failures=[])
    invoke_source("webhook-deliver.json", expect_failures=[])


def invoke_source(event_name, expect_failures):
    """Invokes a function fed by an event source (the table's stream, a queue) with its batch;
    checks the items it gives back to be retried."""
    invoked.add(event_name)
    functions = sorted(os.listdir(os.path.join(ROOT, "functions")))
    path = os.path.join(ROOT, "events", event_name)
    function = function_of(path, functions)
    started = time.monotonic()
    run, answer = sam_invoke(function, path)
    wanted = {"batchItemFailures": expect_failures}
    if run.returncode == 0 and answer == wanted:
        passed.append(event_name)
        print(f"ok   {event_name} ({function}, {time.monotonic() - started:.1f} s)", flush=True)
    else:
        failures.append(f"{event_name}: wanted {wanted}, got {answer} ({run.returncode}): {run.stderr[-600:]}")
        print(f"FAIL {event_name} ({function}): {answer}", flush=True)


def http(method, path, body=None, headers=None, form=False):
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = (urllib.parse.urlencode(body) if form else json.dumps(body)).encode()
        headers["content-type"] = "application/x-www-form-urlencoded" if form else "application/json"
    req = urllib.request.Request(API + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def moto_data():
    with urllib.request.urlopen(MOTO + "/moto-api/data.json", timeout=30) as r:
        return json.load(r)


def step(name, check):
    try:
        check()
        passed.append(f"start-api {name}")
        print(f"ok   start-api {name}", flush=True)
        return True
    except AssertionError as why:
        failures.append(f"start-api {name}: {why}")
        print(f"FAIL start-api {name}: {why}", flush=True)
        return False


def start_api_flow():
    partner = {"X-Merchant-ID": LIVE_PARTNER, "X-Version": "1.2"}
    phone, password, email = "+447871230001", "Start-api-pass-1", "start.api@example.com"
    state = {}

    def signup():
        status, _, body = http("POST", "/v2/mobile/signup", {"phone": phone, "password": password}, partner)
        assert (status, json.loads(body)) == (200, {"result": "ok"}), (status, body)

    def confirm():
        sms = [m for m in moto_data()["sns"]["SMS"] if m.get("phone_number") == phone]
        assert sms, "no SMS in moto"
        code = re.match(r"\d{6}", sms[-1]["message"]).group(0)
        status, _, body = http("POST", "/v2/mobile/phone/confirm", {"phone": phone, "code": code}, partner)
        assert status == 200, (status, body)
        state["tokens"] = json.loads(body)

    def sign_in():
        form = {"grant_type": "password", "username": phone, "password": password}
        status, _, body = http("POST", "/oauth/token", form, partner, form=True)
        assert status == 200, (status, body)
        state["signed_in"] = json.loads(body)

    def refresh():
        form = {"grant_type": "refresh_token", "refresh_token": state["signed_in"]["refresh_token"]}
        status, _, body = http("POST", "/oauth/token", form, partner, form=True)
        assert status == 200 and json.loads(body)["refresh_token"] != state["signed_in"]["refresh_token"], (status, body)
        state["refreshed"] = json.loads(body)

    def auth():
        return {**partner, "Authorization": f"Bearer {state['tokens']['access_token']}"}

    def email_add():
        status, _, body = http("PUT", "/v2/mobile/email/add", {"email": email}, auth())
        assert status == 200, (status, body)

    def follow_link():
        mails = [m for m in moto_data()["ses"]["Message"] if email in m["destinations"]["ToAddresses"]]
        assert mails, "no email in moto"
        html = mails[-1]["body"].replace("&#x2f;", "/").replace("&#x3d;", "=").replace("&amp;", "&")
        link = re.search(r'href="([^"]+/v2/mobile/email/confirm\?token=[^"]+)"', html).group(1)
        path = link[link.index("/v2/"):]
        status, _, page = http("GET", path, headers={"accept": "text/html"})
        assert status == 200 and "Confirm my email address" in page, (status, page[:300])
        token = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)["token"][0]
        status, _, page = http("POST", "/v2/mobile/email/confirm", {"token": token}, {"accept": "text/html"}, form=True)
        assert status == 200 and "Your email is confirmed" in page, (status, page[:300])

    def profile():
        details = {"firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "PT",
                   "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"}
        status, _, body = http("PATCH", "/v2/customer/profile", details, auth())
        assert status == 204, (status, body)
        status, _, body = http("GET", "/v2/customer/profile", headers=auth())
        assert status == 200 and json.loads(body)["kycLevel"] == "KYC_0", (status, body)

    def revoke():
        form = {"token": state["refreshed"]["refresh_token"]}
        status, _, body = http("POST", "/oauth/revoke", form, partner, form=True)
        assert status == 200, (status, body)
        refresh_form = {"grant_type": "refresh_token", "refresh_token": state["refreshed"]["refresh_token"]}
        status, _, body = http("POST", "/oauth/token", refresh_form, partner, form=True)
        assert status == 400 and json.loads(body)["error"] == "invalid_grant", (status, body)

    for name, check in [("signup", signup), ("confirm", confirm), ("sign in", sign_in), ("refresh", refresh),
                        ("email add", email_add), ("email link and button", follow_link),
                        ("profile PATCH and GET (KYC_0)", profile), ("revoke", revoke)]:
        if not step(name, check):
            break


def moto_stopped():
    """moto gone mid-run: the function answers a 503 envelope, in well under its 10 s timeout."""
    subprocess.run(["docker", "stop", "-t", "1", os.environ["SAM_LOCAL_MOTO_CONTAINER"]], check=True, capture_output=True)
    started = time.monotonic()
    invoke("signup.json", body={"phone": "+447871230002", "password": "1234Qwerty"}, expect=envelope(503, "UNAVAILABLE"), label="signup.json (moto stopped)")
    print(f"     the 503 came {time.monotonic() - started:.1f} s after the invoke started (container start included)")
    duration = last_duration_ms[0]
    if duration is None or duration >= 10_000:
        failures.append(f"moto stopped: the function ran {duration} ms, not under its 10 s timeout")
    else:
        print(f"     the function itself ran {duration / 1000:.1f} s (its timeout is 10 s)")


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else "invoke"
    started = time.monotonic()
    if phase == "invoke":
        invocations()
        unused = sorted(set(f for f in os.listdir(os.path.join(ROOT, "events")) if f.endswith(".json")) - invoked)
        if unused:
            failures.append(f"events never invoked: {', '.join(unused)}")
    elif phase == "start-api":
        start_api_flow()
    elif phase == "moto-stopped":
        moto_stopped()
    print(f"sam-local {phase}: {len(passed)} passed, {len(failures)} failed in {time.monotonic() - started:.0f} s")
    for failure in failures:
        print(f"  - {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
