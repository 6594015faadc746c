//! `grant_type=step_up` with `sms_code`, the code `POST /v2/customer/step-up/code` sends to the
//! confirmed phone of an account without a second factor (in memory; on moto in
//! `tests/e2e/second_factor.rs`).
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::mfa::tests::{PASSWORD, PHONE, claims, grant, protected};
use crate::domain::phone::PhoneNumber;
use crate::handlers::step_up_code;
use crate::ports::{Codes, Identifier, PhoneKey};
use crate::security::code::CodePurpose;
use crate::testing::{MERCHANT, Reply, TestApp, bearer, request};

async fn ask_code(t: &TestApp, tokens: &Reply) -> Reply {
    let req = request(
        include_str!("../../../../events/step-up-code.json"),
        Value::Null,
        &[("authorization", &bearer(tokens))],
    );
    match step_up_code::handle(&t.app, &t.verifier, req).await {
        Ok(response) => Reply::from(response),
        Err(never) => match never {},
    }
}

async fn step_up(t: &TestApp, tokens: &Reply, password: &str, code: &str) -> Reply {
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    grant(t, json!({ "grant_type": "step_up", "refresh_token": refresh, "password": password, "sms_code": code })).await
}

fn other_than(code: &str) -> &'static str {
    if code == "000000" { "000001" } else { "000000" }
}

#[tokio::test]
async fn a_code_to_the_confirmed_phone_raises_a_session_without_a_factor_to_aal2_once() {
    // GIVEN a password-only account signed in an hour ago
    let t = TestApp::new().await;
    let signed_up = t.registered(PHONE, PASSWORD).await;
    t.clock.advance(3600);
    let tokens = t.refresh(signed_up.body["refresh_token"].as_str().unwrap()).await;
    // WHEN it asks for a step-up code and steps up with it and the password
    let asked = ask_code(&t, &tokens).await;
    assert_eq!((asked.status, &asked.body["expiresIn"]), (200, &json!(300)), "{:?}", asked.body);
    assert!(t.sms.to(PHONE).last().unwrap().contains("confirm it is you"));
    let code = t.latest_code(PHONE);
    let raised = step_up(&t, &tokens, PASSWORD, &code).await;
    // THEN the new access token says aal2 by password and SMS, authenticated now
    assert_eq!(raised.status, 200, "{:?}", raised.body);
    let claims = claims(&raised);
    assert_eq!((&claims["acr"], &claims["amr"]), (&json!("aal2"), &json!(["pwd", "sms", "mfa"])));
    assert_eq!(claims["auth_time"], t.app.clock.now());
    // AND the code does not work a second time
    let again = step_up(&t, &raised, PASSWORD, &code).await;
    assert_eq!(again.body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_wrong_password_with_the_right_code_answers_as_a_wrong_code_and_spends_none_of_its_tries() {
    // GIVEN a step-up code sent to the account's phone
    let t = TestApp::new().await;
    let tokens = t.registered(PHONE, PASSWORD).await;
    t.clock.advance(61); // the cooldown after the signup's code
    assert_eq!(ask_code(&t, &tokens).await.status, 200);
    let code = t.latest_code(PHONE);
    // WHEN a thief with the session but not the password tries it, and the owner mistypes it
    let wrong_password = step_up(&t, &tokens, "Not-the-password-1", &code).await;
    step_up(&t, &tokens, "Not-the-password-1", &code).await;
    let wrong_code = step_up(&t, &tokens, PASSWORD, other_than(&code)).await;
    // THEN both answer alike, and only the owner's try spent one of the code's five
    assert_eq!((wrong_password.status, &wrong_password.body), (wrong_code.status, &wrong_code.body));
    assert_eq!(wrong_code.body["error"], "invalid_grant");
    let key = PhoneKey { merchant_id: MERCHANT.to_owned(), phone: PhoneNumber::parse(PHONE).unwrap() };
    let stored = t.store.code(Identifier::Phone(&key), CodePurpose::StepUp).await.unwrap().unwrap();
    assert_eq!(stored.attempts_left, 4);
    let right = step_up(&t, &tokens, PASSWORD, &code).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
}

#[tokio::test]
async fn an_account_with_an_authenticator_gets_no_code_and_cannot_step_up_by_sms() {
    // GIVEN an account with an authenticator, signed in at aal2 through the second step
    let t = TestApp::new().await;
    let (app, _) = protected(&t).await;
    let asked = t.sign_in(PHONE, PASSWORD).await;
    let token = asked.body["data"]["mfaToken"].as_str().unwrap();
    let otp = app.code_at(t.app.clock.now());
    let tokens = grant(&t, json!({ "grant_type": "mfa", "mfa_token": token, "otp": otp })).await;
    let sent_before = t.sms.to(PHONE).len();
    // WHEN it asks for a step-up code, or steps up with one
    let asked = ask_code(&t, &tokens).await;
    let by_sms = step_up(&t, &tokens, PASSWORD, "123456").await;
    // THEN neither: its phone never stands in for its factor
    assert_eq!((asked.status, &asked.body["error"]), (409, &json!("SECOND_FACTOR_ENROLLED")));
    assert_eq!(t.sms.to(PHONE).len(), sent_before);
    assert_eq!((by_sms.status, &by_sms.body["error"]), (400, &json!("invalid_request")));
}
