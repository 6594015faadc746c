//! Malformed requests get 400 envelopes, never a 5xx.

use e2e::{Endpoint, TestEnv, assert_error, fresh_phone};
use lambda_http::Body;
use serde_json::{Value, json};

const ENDPOINTS: [Endpoint; 3] = [Endpoint::Signup, Endpoint::PhoneConfirm, Endpoint::PhoneResend];

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_400() {
    let env = TestEnv::new().await;
    for endpoint in ENDPOINTS {
        for body in ["", "{", "not json", "[]", "null", "42", "{\"phone\": \"+447871234567\"} trailing"] {
            let answer = env.call(endpoint, Value::String(body.to_owned()), &[]).await;
            assert_error(&answer, 400, "BAD_REQUEST");
        }
        let binary = env.call_raw(endpoint, Body::Binary(vec![0xff, 0xfe, 0x00]), &[]).await;
        assert_error(&binary, 400, "BAD_REQUEST");
    }
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let env = TestEnv::new().await;
    for (endpoint, body, field) in [
        (Endpoint::Signup, json!({ "phone": 447871234567_u64, "password": "1234Qwerty" }), "phone"),
        (Endpoint::Signup, json!({ "phone": "+447871234567", "password": ["1234Qwerty"] }), "password"),
        (Endpoint::Signup, json!({ "phone": "+447871234567" }), "password"),
        (Endpoint::Signup, json!({ "phone": null, "password": "1234Qwerty" }), "phone"),
        (Endpoint::PhoneConfirm, json!({ "phone": "+447871234567", "code": 123456 }), "code"),
        (Endpoint::PhoneConfirm, json!({ "code": "123456" }), "phone"),
        (Endpoint::PhoneResend, json!({ "phone": { "number": "1" } }), "phone"),
    ] {
        let answer = env.call(endpoint, body.clone(), &[]).await;
        assert_error(&answer, 400, "BAD_REQUEST");
        assert_eq!(answer.body["field"], field, "{body}");
    }
}

#[tokio::test]
async fn invalid_phones_and_codes_are_validation_errors() {
    let env = TestEnv::new().await;
    for phone in ["", "07871234567", "+44 20 7946 0000", "+1", "+447871234567890123", "DROP TABLE"] {
        let answer = env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await;
        assert_error(&answer, 400, "VALIDATION");
        assert_eq!(answer.body["field"], "phone", "{phone}");
    }
    for code in ["", "1234", "abcdef", "1234567"] {
        let answer = env.confirm(&fresh_phone(), code).await;
        assert_error(&answer, 400, "VALIDATION");
        assert_eq!(answer.body["field"], "code");
    }
}

#[tokio::test]
async fn missing_or_invalid_partner_headers_are_400() {
    let env = TestEnv::new().await;
    let body = json!({ "phone": fresh_phone(), "password": "1234Qwerty", "code": "123456" });
    for endpoint in ENDPOINTS {
        for (headers, field) in [
            (vec![("x-merchant-id", None)], "X-Merchant-ID"),
            (vec![("x-merchant-id", Some("merchant-1"))], "X-Merchant-ID"),
            (vec![("x-version", None)], "X-Version"),
            (vec![("x-version", Some("1.2 <script>"))], "X-Version"),
        ] {
            let answer = env.call(endpoint, body.clone(), &headers).await;
            assert_error(&answer, 400, "HEADER");
            assert_eq!(answer.body["field"], field);
        }
    }
}

#[tokio::test]
async fn an_oversized_body_is_400() {
    let env = TestEnv::new().await;
    let big = json!({ "phone": fresh_phone(), "password": "1234Qwerty", "analyticsCallback": "x".repeat(17 * 1024) });
    for endpoint in ENDPOINTS {
        let answer = env.call(endpoint, big.clone(), &[]).await;
        assert_error(&answer, 400, "PAYLOAD_TOO_LARGE");
    }
}
