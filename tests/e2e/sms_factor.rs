//! Codes by SMS as the second factor of an email-first account, end to end on moto: the enrolment
//! after a step-up by a code to the phone, the sign-in that answers `mfa_required` offering `sms`,
//! the code asked for with the `mfa_token` (an SMS moto captured), the second grant, the password
//! reset that no longer goes by SMS, parallel completions with one code, and the removal.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::*;
use registration::ports::Clock;
use serde_json::{Value, json};

use crate::concurrency::PASSWORD;

fn claims(tokens: &Answer) -> Value {
    let token = tokens.body["access_token"].as_str().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

/// A session raised to `aal2` by a code to the account's phone (`grant_type=step_up`, `sms_code`).
async fn stepped_up_by_sms(env: &TestEnv, tokens: &Answer, phone: &str) -> Answer {
    env.wait_out_cooldown();
    let sent = env.as_user(Endpoint::StepUpCode, &bearer(tokens), Value::Null).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    let code = env.latest_code(phone).await;
    let body = json!({ "grant_type": "step_up", "refresh_token": refresh, "password": PASSWORD, "sms_code": code });
    let raised = env.call(Endpoint::Token, body, &[]).await;
    assert_eq!(raised.status, 200, "{:?}", raised.body);
    raised
}

/// An email-first account that added a phone a day ago, signed in with its address and password.
struct EmailFirst {
    email: String,
    phone: String,
    tokens: Answer,
}

async fn email_first_with_settled_phone(env: &TestEnv) -> EmailFirst {
    let email = fresh_email().to_lowercase();
    let tokens = env.email_account(&email, PASSWORD).await;
    let phone = fresh_phone();
    env.added_phone(&tokens, &phone).await;
    env.clock.advance(86_401);
    let tokens = env.sign_in(&email, PASSWORD).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    EmailFirst { email, phone, tokens }
}

/// An email-first account whose second factor is codes by SMS; the recovery codes shown.
async fn sms_protected(env: &TestEnv) -> (EmailFirst, Vec<String>) {
    let account = email_first_with_settled_phone(env).await;
    let raised = stepped_up_by_sms(env, &account.tokens, &account.phone).await;
    let enrolled = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    let codes = enrolled.body["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned());
    (account, codes.collect())
}

/// The `mfa_token` of a sign-in with the right password, and the code it asked for by SMS.
async fn challenge_with_code(env: &TestEnv, account: &EmailFirst) -> (String, String) {
    let asked = env.sign_in(&account.email, PASSWORD).await;
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")), "{:?}", asked.body);
    let token = asked.body["data"]["mfaToken"].as_str().unwrap().to_owned();
    env.wait_out_cooldown();
    let sent = env.call(Endpoint::SignInCode, json!({ "mfaToken": token }), &[]).await;
    assert_eq!((sent.status, &sent.body), (200, &json!({ "result": "ok", "expiresIn": 300 })), "{:?}", sent.body);
    (token, env.latest_code(&account.phone).await)
}

async fn with_sms_code(env: &TestEnv, token: &str, code: &str) -> Answer {
    env.call(Endpoint::Token, json!({ "grant_type": "mfa", "mfa_token": token, "sms_code": code }), &[]).await
}

#[tokio::test]
async fn an_email_first_account_enrols_codes_by_sms_and_then_signs_in_only_with_the_code_sent_to_its_phone() {
    // GIVEN an email-first account whose phone has been its own for a day, stepped up by a code to it
    let env = TestEnv::new().await;
    let account = email_first_with_settled_phone(&env).await;
    let raised = stepped_up_by_sms(&env, &account.tokens, &account.phone).await;
    // WHEN it makes codes by SMS its second factor
    let enrolled = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
    // THEN it is told once, with ten recovery codes, and the owner is told on both contacts
    assert_eq!((enrolled.status, &enrolled.body["type"]), (201, &json!("sms")), "{:?}", enrolled.body);
    assert_eq!(enrolled.body["recoveryCodes"].as_array().unwrap().len(), 10);
    assert!(env.sms_to(&account.phone).await.last().unwrap().contains("Codes by SMS now protect"));
    let told = env.emails_to(&account.email).await;
    assert!(told.iter().any(|(subject, _)| subject == "Codes by SMS now protect your account"), "{told:?}");
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&raised), Value::Null).await;
    assert_eq!(listed.body["factors"][0]["type"], "sms", "{:?}", listed.body);
    assert_eq!(listed.body["factors"][0]["id"], enrolled.body["factorId"]);
    // WHEN it signs in with the right password
    env.clock.advance(60);
    let asked = env.sign_in(&account.email, PASSWORD).await;
    // THEN it gets no tokens but a second step offering the code by SMS, and nothing is sent yet
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")), "{:?}", asked.body);
    assert_eq!(asked.body["data"]["factors"], json!(["sms", "recovery_code"]));
    let sent_before = env.sms_to(&account.phone).await.len();
    assert!(!asked.text.contains(&account.phone), "{}", asked.text);
    // WHEN the app asks for the code and completes the sign-in with it
    let token = asked.body["data"]["mfaToken"].as_str().unwrap();
    env.wait_out_cooldown();
    let sent = env.call(Endpoint::SignInCode, json!({ "mfaToken": token }), &[]).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let messages = env.sms_to(&account.phone).await;
    assert_eq!(messages.len(), sent_before + 1);
    assert!(messages.last().unwrap().contains("is your sign-in code"), "{messages:?}");
    let code = env.latest_code(&account.phone).await;
    let signed_in = with_sms_code(&env, token, &code).await;
    // THEN the session is aal2 by password and SMS, authenticated now
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let claims = claims(&signed_in);
    assert_eq!((&claims["acr"], &claims["amr"]), (&json!("aal2"), &json!(["pwd", "sms", "mfa"])));
    assert_eq!(claims["auth_time"], env.clock.now());
    // AND the same code does not complete another sign-in
    let next = env.sign_in(&account.email, PASSWORD).await;
    let reused = with_sms_code(&env, next.body["data"]["mfaToken"].as_str().unwrap(), &code).await;
    assert_eq!((reused.status, &reused.body["error"]), (400, &json!("invalid_grant")), "{:?}", reused.body);
    // AND the list says when the factor was last used
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&signed_in), Value::Null).await;
    assert!(listed.body["factors"][0]["lastUsedAt"].is_string(), "{:?}", listed.body);
}

#[tokio::test]
async fn a_wrong_sms_code_answers_like_an_unknown_sign_in_and_the_right_one_still_completes_it() {
    let env = TestEnv::new().await;
    let (account, _) = sms_protected(&env).await;
    let (token, code) = challenge_with_code(&env, &account).await;
    let wrong = with_sms_code(&env, &token, &other_code(&code)).await;
    let unknown = with_sms_code(&env, "not-a-token", &code).await;
    assert_eq!((wrong.status, &wrong.body["error"]), (400, &json!("invalid_grant")), "{:?}", wrong.body);
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    // An unknown token gets no code sent, and the answer the second grant gives it.
    let refused = env.call(Endpoint::SignInCode, json!({ "mfaToken": "not-a-token" }), &[]).await;
    assert_eq!((refused.status, &refused.body), (wrong.status, &wrong.body));
    // The right code still completes it: the wrong one spent one of five tries.
    assert_eq!(with_sms_code(&env, &token, &code).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_parallel_completions_with_one_sms_code_exactly_one_signs_in() {
    // GIVEN a sign-in whose code was sent, and three more sign-ins waiting with the same account
    let env = Arc::new(TestEnv::new().await);
    let (account, _) = sms_protected(&env).await;
    let (first, code) = challenge_with_code(&env, &account).await;
    let mut tokens = vec![first];
    for _ in 0..3 {
        let asked = env.sign_in(&account.email, PASSWORD).await;
        tokens.push(asked.body["data"]["mfaToken"].as_str().unwrap().to_owned());
    }
    // WHEN all four complete with the one code at once
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (env, code) = (env.clone(), code.clone());
            tokio::spawn(async move { with_sms_code(&env, &token, &code).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    // THEN exactly one session starts; the code is spent for the others
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400, 400]);
}

#[tokio::test]
async fn the_password_of_an_account_with_codes_by_sms_is_reset_by_email_only_and_keeps_the_factor() {
    // GIVEN an account whose second factor is codes by SMS
    let env = TestEnv::new().await;
    let (account, _) = sms_protected(&env).await;
    env.wait_out_cooldown();
    let sent_before = env.sms_to(&account.phone).await.len();
    // WHEN someone with its phone asks to reset the password by SMS
    let forgot = env.forgot(&account.phone).await;
    // THEN the answer is the usual one, and the phone gets no code (a SIM must not both choose the
    // password and pass the second step)
    assert_eq!((forgot.status, &forgot.body), (200, &json!({ "result": "ok" })));
    assert_eq!(env.sms_to(&account.phone).await.len(), sent_before);
    // WHEN the owner resets it by email
    let asked = env.call(Endpoint::PasswordForgot, json!({ "email": account.email }), &[]).await;
    assert_eq!(asked.status, 200);
    let code = env.emailed_code(&account.email).await;
    let body = json!({ "email": account.email, "code": code, "password": "Reset-Heron-2027" });
    let reset = env.call(Endpoint::PasswordReset, body, &[]).await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    // THEN the new password still needs the code by SMS
    let next = env.sign_in(&account.email, "Reset-Heron-2027").await;
    assert_eq!((next.status, &next.body["error"]), (403, &json!("mfa_required")), "{:?}", next.body);
}

#[tokio::test]
async fn a_reset_code_sent_by_sms_before_the_enrolment_no_longer_resets_the_password() {
    // GIVEN a reset code sent to the phone, then codes by SMS enrolled
    let env = TestEnv::new().await;
    let account = email_first_with_settled_phone(&env).await;
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&account.phone).await.status, 200);
    let reset_code = env.latest_code(&account.phone).await;
    let raised = stepped_up_by_sms(&env, &account.tokens, &account.phone).await;
    let enrolled = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    // WHEN the code is used
    let reset = env.reset(&account.phone, &reset_code, "Reset-Heron-2027").await;
    // THEN it no longer works, and the old password is still the password
    assert_error(&reset, 400, "CODE_EXPIRED");
    let asked = env.sign_in(&account.email, PASSWORD).await;
    assert_eq!(asked.body["error"], "mfa_required", "{:?}", asked.body);
}

#[tokio::test]
async fn a_phone_first_account_without_an_address_cannot_take_codes_by_sms() {
    // GIVEN a phone-first account with no email address, stepped up by a code to its phone
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    let raised = stepped_up_by_sms(&env, &signed_up, &phone).await;
    // WHEN it asks for codes by SMS as its second factor
    let refused = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
    // THEN it is told it needs an address first (its password would be reset by the same SIM)
    assert_error(&refused, 409, "EMAIL_NOT_SET");
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&raised), Value::Null).await;
    assert_eq!(listed.body["factors"], json!([]), "{:?}", listed.body);
}

#[tokio::test]
async fn a_password_session_cannot_enrol_and_an_sms_session_removes_the_factor_in_place() {
    // GIVEN an account whose second factor is codes by SMS, signed in with both
    let env = TestEnv::new().await;
    let (account, _) = sms_protected(&env).await;
    let (token, code) = challenge_with_code(&env, &account).await;
    let signed_in = with_sms_code(&env, &token, &code).await;
    let factor_id = env.as_user(Endpoint::FactorsList, &bearer(&signed_in), Value::Null).await.body["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // WHEN ten minutes later it tries to remove the factor
    env.clock.advance(600);
    let tokens = env.refresh(signed_in.body["refresh_token"].as_str().unwrap()).await;
    let refused = env.remove_factor(&bearer(&tokens), &factor_id).await;
    // THEN it must step up first, which it does with a code to its phone, and then removes it
    assert_error(&refused, 401, "INSUFFICIENT_USER_AUTHENTICATION");
    let raised = stepped_up_by_sms(&env, &tokens, &account.phone).await;
    assert_eq!(claims(&raised)["amr"], json!(["pwd", "sms", "mfa"]));
    let removed = env.remove_factor(&bearer(&raised), &factor_id).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    // AND the password alone signs in again, and the owner was told
    assert_eq!(env.sign_in(&account.email, PASSWORD).await.status, 200);
    assert!(env.sms_to(&account.phone).await.last().unwrap().contains("codes by SMS and the recovery codes"));
}

#[tokio::test]
async fn the_table_starts_no_session_on_the_password_alone_once_codes_by_sms_are_the_factor() {
    use registration::factors::assurance::Assurance;
    use registration::ports::{NewSession, StoreError};
    // GIVEN an account whose factor is codes by SMS, as a password sign-in read it before (an old
    // token function in a canary would try to start a session on the password alone)
    let env = TestEnv::new().await;
    let (account, _) = sms_protected(&env).await;
    let address = registration::domain::email::EmailAddress::parse(&account.email).unwrap();
    let user_id = env.app.store.email_owner(MERCHANT, &address).await.unwrap().unwrap();
    let record = env.app.store.account(&user_id).await.unwrap().unwrap();
    let now = env.clock.now();
    let session = NewSession {
        session_id: "s-password-alone".into(),
        refresh_token_hash: "h-password-alone".into(),
        created_at: now,
        expires_at: now + 3600,
        fingerprint: None,
        credential_version: record.credential_version,
        assurance: Assurance::password(now),
    };
    // WHEN that session is written with the password's hash
    let started = env.app.store.start_session(&user_id, MERCHANT, session, &record.password_hash).await;
    // THEN DynamoDB refuses it: the condition names the SMS factor beside the app
    assert!(matches!(started, Err(StoreError::Conflict)), "{started:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_by_sms_and_an_app_enrolled_at_once_leave_exactly_one_second_factor() {
    // GIVEN an account at aal2 with an authenticator enrolment waiting for its code
    let env = Arc::new(TestEnv::new().await);
    let account = email_first_with_settled_phone(&env).await;
    let raised = Arc::new(stepped_up_by_sms(&env, &account.tokens, &account.phone).await);
    let started = env.as_user(Endpoint::TotpEnrol, &bearer(&raised), Value::Null).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let uri = started.body["otpauthUri"].as_str().unwrap();
    let code = crate::totp::pyotp_codes(uri, &[env.clock.now()]).remove(0);
    let verify = json!({ "factorId": started.body["factorId"], "code": code });
    // WHEN the app's verification and the enrolment of codes by SMS run at the same moment
    let (env1, raised1) = (env.clone(), raised.clone());
    let by_app = tokio::spawn(async move { env1.as_user(Endpoint::TotpVerify, &bearer(&raised1), verify).await });
    let (env2, raised2) = (env.clone(), raised.clone());
    let by_sms =
        tokio::spawn(async move { env2.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised2), Value::Null).await });
    let (by_app, by_sms) = (by_app.await.unwrap(), by_sms.await.unwrap());
    // THEN exactly one succeeds, and the account has exactly that factor
    let won = [by_app.status == 200, by_sms.status == 201];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{:?} / {:?}", by_app.body, by_sms.body);
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&raised), Value::Null).await;
    let kinds: Vec<&str> =
        listed.body["factors"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    let expected = if won[0] { "totp" } else { "sms" };
    assert_eq!(kinds, [expected, "recovery_codes"], "{:?}", listed.body);
}

#[tokio::test]
async fn a_phone_move_read_before_the_enrolment_cannot_carry_the_factor_to_the_new_number() {
    use registration::domain::phone::PhoneNumber;
    use registration::ports::{Identifier, PhoneKey, PhoneMove, StoreError};
    use registration::security::code::CodePurpose;
    // GIVEN a phone change begun with the password alone (a thief's number), read before the owner
    // made codes by SMS the account's factor
    let env = TestEnv::new().await;
    let account = email_first_with_settled_phone(&env).await;
    let thief = fresh_phone();
    let sent_at = env.clock.now();
    let begun = env
        .as_user(Endpoint::PhoneChange, &bearer(&account.tokens), json!({ "phone": thief, "password": PASSWORD }))
        .await;
    assert_eq!(begun.status, 200, "{:?}", begun.body);
    let key = |phone: &str| PhoneKey { merchant_id: MERCHANT.to_owned(), phone: PhoneNumber::parse(phone).unwrap() };
    let (new, old) = (key(&thief), key(&account.phone));
    let code = env.app.store.code(Identifier::Phone(&new), CodePurpose::PhoneChange).await.unwrap().unwrap();
    let before = env.app.store.account(&code.user_id).await.unwrap().unwrap();
    let raised = stepped_up_by_sms(&env, &account.tokens, &account.phone).await;
    let enrolled = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    // WHEN the move it read before is written after the enrolment
    let moved = env
        .app
        .store
        .move_phone(PhoneMove {
            new: &new,
            old: &old,
            code_id: &code.code_id,
            user_id: &before.user_id,
            expected_version: before.profile_version,
            issued_at: sent_at,
            now: env.clock.now(),
            events: Vec::new(),
        })
        .await;
    // THEN DynamoDB refuses it, and the factor's phone is still the owner's
    assert!(matches!(moved, Err(StoreError::Conflict)), "{moved:?}");
    let after = env.app.store.account(&before.user_id).await.unwrap().unwrap();
    assert_eq!(after.phone.as_deref(), Some(account.phone.as_str()));
}

#[tokio::test]
async fn strangers_who_use_up_the_numbers_sends_cannot_hold_back_its_sign_in_code() {
    // GIVEN an account whose factor is codes by SMS, and someone who asks for password resets for
    // its number until the number's hourly sends are used up (each answered as usual, none sent)
    let env = TestEnv::new().await;
    let (account, _) = sms_protected(&env).await;
    let limits = registration::domain::send_limits::SendLimits::default();
    let mut answers = Vec::new();
    for _ in 0..=limits.per_hour {
        env.wait_out_cooldown();
        answers.push(env.forgot(&account.phone).await.status);
    }
    assert_eq!(answers.last(), Some(&429), "the number's own limit is reached: {answers:?}");
    // WHEN the owner signs in and asks for the code
    let (token, code) = challenge_with_code(&env, &account).await;
    // THEN it is sent (counted for the account, not the number), and completes the sign-in
    assert_eq!(with_sms_code(&env, &token, &code).await.status, 200);
}
