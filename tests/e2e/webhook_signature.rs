//! Webhook signatures against an independent implementation: the Standard Webhooks reference
//! library for Python verifies what the service signs (with the current secret, and with the
//! previous one during a rotation), refuses a changed body, and signs what the service verifies.

use registration::webhooks::signature::{Refused, SignedHeaders, WebhookSecret, verify};
use serde_json::{Value, json};

/// Runs `script` with the virtualenv's Python (`make test` installs standardwebhooks there), with
/// `input` as JSON on standard input; its standard output, parsed as JSON.
fn reference(script: &str, input: &Value) -> Value {
    use std::io::Write;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the virtualenv's python");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The reference's verdict on each delivery: "ok", or the exception it raised.
const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
cases = json.load(sys.stdin)
verdicts = []
for case in cases:
    try:
        Webhook(case["secret"]).verify(case["body"].encode(), case["headers"], json_parse=False)
        verdicts.append("ok")
    except WebhookVerificationError as error:
        verdicts.append(str(error))
print(json.dumps(verdicts))
"#;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn headers(signed: &SignedHeaders) -> Value {
    signed.pairs().into_iter().map(|(name, value)| (name.to_owned(), Value::String(value))).collect()
}

#[test]
fn the_reference_library_verifies_what_the_service_signs_and_refuses_a_changed_body() {
    // GIVEN an endpoint's secret, the previous one still overlapping, and a delivery signed with both
    let (current, previous) = (WebhookSecret::generate(), WebhookSecret::generate());
    let body = json!({ "type": "account.deleted", "data": { "userId": "3f1c…", "partnerId": "p1" } }).to_string();
    let signed = SignedHeaders::new(&current, Some(&previous), "evt_01JEXAMPLE", now(), body.as_bytes());
    // WHEN the reference library verifies it with either secret, and with the body changed
    let case = |secret: &WebhookSecret, body: &str| json!({ "secret": secret.expose().as_str(), "body": body, "headers": headers(&signed) });
    let changed = body.replace("p1", "p2");
    let verdicts = reference(
        VERIFY,
        &json!([
            case(&current, &body),
            case(&previous, &body),
            case(&current, &changed),
            case(&WebhookSecret::generate(), &body)
        ]),
    );
    // THEN both secrets verify it, and neither a changed body nor another secret does
    assert_eq!(
        verdicts,
        json!(["ok", "ok", "No matching signature found", "No matching signature found"]),
        "{}",
        signed.signature
    );
}

#[test]
fn the_service_verifies_what_the_reference_library_signs() {
    // GIVEN a delivery the reference library signed
    let secret = WebhookSecret::generate();
    let timestamp = now();
    let body = r#"{"type":"account.confirmed","data":{"userId":"u1"}}"#;
    let script = r#"
import json, sys
from datetime import datetime, timezone
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
at = datetime.fromtimestamp(case["timestamp"], tz=timezone.utc)
print(json.dumps(Webhook(case["secret"]).sign(case["id"], at, case["body"].encode())))
"#;
    let input = json!({ "secret": secret.expose().as_str(), "id": "evt_1", "timestamp": timestamp, "body": body });
    let signature = reference(script, &input).as_str().unwrap().to_owned();
    // WHEN the service verifies it
    let signed = SignedHeaders { id: "evt_1".into(), timestamp, signature };
    // THEN it is accepted, and refused once the body or the clock is off
    assert_eq!(verify(&secret, &signed, body.as_bytes(), timestamp), Ok(()));
    assert_eq!(verify(&secret, &signed, b"{}", timestamp), Err(Refused::Signature));
    assert_eq!(verify(&secret, &signed, body.as_bytes(), timestamp + 301), Err(Refused::Timestamp));
}
