//! Sign-in with a second factor, end to end on moto: the real token handler, the KMS factor key
//! (the TOTP secret and the recovery codes' MAC key sealed under its purpose and the account), and
//! the DynamoDB transactions that spend a code once. The enrolment endpoints are not
//! built yet, so each test gives the account its factors as an enrolment will
//! (`TestEnv::enrol_factors`): the secret sealed by the same sealer, written to the account item.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::*;
use registration::ports::Clock;
use serde_json::{Value, json};

use crate::concurrency::{PASSWORD, delete, left_of};
use crate::totp::pyotp_codes;

/// An account with an authenticator and recovery codes: its phone, user id, the authenticator's
/// `otpauth://` URI (what pyotp gets) and the recovery codes as shown.
struct Protected {
    phone: String,
    user_id: String,
    uri: String,
    codes: Vec<String>,
}

async fn protected(env: &TestEnv) -> Protected {
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let user_id = tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    let enrolled = env.enrol_factors(&user_id, &phone).await;
    let uri = enrolled.authenticator.uri().to_string();
    Protected { phone, user_id, uri, codes: enrolled.recovery_codes }
}

/// The right password's answer, which must be `mfa_required`; its token.
async fn challenge(env: &TestEnv, account: &Protected) -> String {
    let asked = env.sign_in(&account.phone, PASSWORD).await;
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")), "{:?}", asked.body);
    asked.body["data"]["mfaToken"].as_str().unwrap().to_owned()
}

async fn second_step(env: &TestEnv, body: Value, merchant: &str) -> Answer {
    env.call(Endpoint::Token, body, &[("x-merchant-id", Some(merchant))]).await
}

async fn with_otp(env: &TestEnv, token: &str, otp: &str) -> Answer {
    second_step(env, json!({ "grant_type": "mfa", "mfa_token": token, "otp": otp }), MERCHANT).await
}

/// pyotp's code for the account's authenticator at the service's clock.
fn pyotp_now(env: &TestEnv, account: &Protected) -> String {
    pyotp_codes(&account.uri, &[env.clock.now()]).remove(0)
}

fn claims(tokens: &Answer) -> Value {
    let token = tokens.body["access_token"].as_str().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_right_password_asks_for_the_code_and_pyotps_code_signs_in_once_at_aal2() {
    // GIVEN an account with an authenticator app
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    // WHEN it signs in with the right password
    let asked = env.sign_in(&account.phone, PASSWORD).await;
    // THEN it gets no tokens, only a token for the second step that names nothing of the account
    assert_eq!(asked.status, 403, "{:?}", asked.body);
    assert_eq!(asked.body["data"]["factors"], json!(["otp", "recovery_code"]));
    let token = asked.body["data"]["mfaToken"].as_str().unwrap();
    assert!(!asked.text.contains(&account.user_id) && token.len() >= 43, "{}", asked.text);
    // AND the code pyotp computes completes the sign-in, at aal2
    let code = pyotp_now(&env, &account);
    let tokens = with_otp(&env, token, &code).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let claims = claims(&tokens);
    assert_eq!((&claims["acr"], &claims["amr"]), (&json!("aal2"), &json!(["pwd", "otp", "mfa"])));
    assert_eq!(claims["auth_time"], env.clock.now());
    // AND the session works, and its export lists the factors and none of their secrets
    let export = env.call(Endpoint::AccountExport, Value::Null, &[("authorization", Some(&bearer(&tokens)))]).await;
    assert_eq!(export.status, 200, "{:?}", export.body);
    assert_eq!(export.body["factors"][0]["type"], "totp");
    assert!(export.body["factors"][0]["lastUsedAt"].is_string(), "{:?}", export.body["factors"]);
    assert_eq!(
        (&export.body["factors"][1]["type"], &export.body["factors"][1]["remaining"]),
        (&json!("recovery_codes"), &json!(10))
    );
    let secret_in_uri = account.uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    assert!(!export.text.contains(secret_in_uri) && !export.text.contains(&account.codes[0][..5]), "{}", export.text);
    // AND the same code is refused a second time, in a new sign-in too
    assert_eq!(with_otp(&env, token, &code).await.body["error"], "invalid_grant");
    let again = with_otp(&env, &challenge(&env, &account).await, &code).await;
    assert_eq!((again.status, &again.body["error"]), (400, &json!("invalid_grant")));
}

#[tokio::test]
async fn the_sixth_try_after_five_wrong_codes_is_held_back_even_with_the_right_code() {
    // GIVEN five wrong codes across two sign-ins (a right password between them)
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    let first = challenge(&env, &account).await;
    for _ in 0..3 {
        assert_eq!(with_otp(&env, &first, "000000").await.body["error"], "invalid_grant");
    }
    let second = challenge(&env, &account).await;
    for _ in 0..2 {
        assert_eq!(with_otp(&env, &second, "000000").await.body["error"], "invalid_grant");
    }
    // WHEN the right code comes sixth
    let held = with_otp(&env, &second, &pyotp_now(&env, &account)).await;
    // THEN it is held back, as a sixth password would be, and so is the password
    assert_eq!((held.status, &held.body["data"]["retryAfter"]), (429, &json!(30)), "{:?}", held.body);
    assert_eq!(env.sign_in(&account.phone, PASSWORD).await.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_parallel_sign_ins_with_one_recovery_code_exactly_one_gets_a_session() {
    // GIVEN an account that lost its device, and four sign-ins waiting for a second factor
    let env = Arc::new(TestEnv::new().await);
    let account = protected(&env).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(challenge(&env, &account).await);
    }
    // WHEN one recovery code (typed loosely) completes all four at once
    let typed = account.codes[2].to_lowercase().replace('-', " ");
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (env, typed) = (env.clone(), typed.clone());
            tokio::spawn(async move {
                let body = json!({ "grant_type": "mfa", "mfa_token": token, "recovery_code": typed });
                second_step(&env, body, MERCHANT).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    // THEN exactly one signs in, saying it used a recovery code, and the others are refused
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
    let signed_in = answers.iter().find(|a| a.status == 200).unwrap();
    assert_eq!(claims(signed_in)["amr"], json!(["pwd", "recovery", "mfa"]));
    // AND the code is spent for good; another code of the set still works
    let body = |token: String, code: &str| json!({ "grant_type": "mfa", "mfa_token": token, "recovery_code": code });
    let reused = second_step(&env, body(challenge(&env, &account).await, &typed), MERCHANT).await;
    assert_eq!(reused.body["error"], "invalid_grant");
    let other = second_step(&env, body(challenge(&env, &account).await, &account.codes[7]), MERCHANT).await;
    assert_eq!(other.status, 200, "{:?}", other.body);
}

#[tokio::test]
async fn a_token_used_with_another_partner_or_after_five_minutes_answers_like_a_wrong_code() {
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    let token = challenge(&env, &account).await;
    let code = pyotp_now(&env, &account);
    let wrong = with_otp(&env, &token, "111111").await;
    let other_partner =
        second_step(&env, json!({ "grant_type": "mfa", "mfa_token": token, "otp": code }), SEED_003_MERCHANT).await;
    env.clock.advance(301);
    let late = with_otp(&env, &token, &pyotp_now(&env, &account)).await;
    assert_eq!((wrong.status, &wrong.body["error"]), (400, &json!("invalid_grant")), "{:?}", wrong.body);
    for answer in [&other_partner, &late] {
        assert_eq!((answer.status, &answer.body), (wrong.status, &wrong.body));
    }
}

#[tokio::test]
async fn a_password_reset_keeps_the_factor_and_the_next_sign_in_still_asks_for_it() {
    // GIVEN an account with a factor, whose owner resets the password by SMS
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&account.phone).await.status, 200);
    let code = env.latest_code(&account.phone).await;
    let reset = env.reset(&account.phone, &code, "Reset-Heron-2027").await;
    assert!(reset.status < 300, "{:?}", reset.body);
    // WHEN it signs in with the new password
    let asked = env.sign_in(&account.phone, "Reset-Heron-2027").await;
    // THEN the second factor is still asked for: the reset gave no session past it
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")), "{:?}", asked.body);
}

#[tokio::test]
async fn a_deletion_erases_the_factors_and_every_waiting_sign_in() {
    // GIVEN an account with a factor, signed in with it, and another sign-in waiting for its code
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    let tokens = with_otp(&env, &challenge(&env, &account).await, &pyotp_now(&env, &account)).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let waiting = challenge(&env, &account).await;
    // WHEN the account is deleted
    let deleted = delete(&env, &bearer(&tokens), MERCHANT).await;
    // THEN nothing of it is left (its factors went with the account item, the challenge with the
    // sweep), and the waiting sign-in cannot complete
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_eq!(left_of(&env, &[&account.user_id]).await.len(), 0);
    env.clock.advance(30);
    assert_eq!(with_otp(&env, &waiting, &pyotp_now(&env, &account)).await.body["error"], "invalid_grant");
}

async fn step_up(env: &TestEnv, refresh_token: &str, password: &str, otp: &str) -> Answer {
    let body = json!({ "grant_type": "step_up", "refresh_token": refresh_token, "password": password, "otp": otp });
    second_step(env, body, MERCHANT).await
}

fn refresh_token_of(tokens: &Answer) -> String {
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    tokens.body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_session_signed_in_ten_minutes_ago_cannot_change_the_password_or_delete_and_steps_up_in_place() {
    // GIVEN an account with an authenticator, signed in with both elements ten minutes ago
    let env = TestEnv::new().await;
    let account = protected(&env).await;
    let signed_in = with_otp(&env, &challenge(&env, &account).await, &pyotp_now(&env, &account)).await;
    env.clock.advance(600);
    let refreshed = env.refresh(&refresh_token_of(&signed_in)).await;
    // WHEN it changes the password, or deletes the account, with that session
    let change = json!({ "oldPassword": PASSWORD, "newPassword": "Stepped-up-pass-9" });
    let refused = env.as_user(Endpoint::PasswordChange, &bearer(&refreshed), change.clone()).await;
    let not_deleted = delete(&env, &bearer(&refreshed), MERCHANT).await;
    // THEN both ask for a recent aal2 the RFC 9470 way, and nothing changed
    for answer in [&refused, &not_deleted] {
        assert_eq!((answer.status, &answer.body["error"]), (401, &json!("INSUFFICIENT_USER_AUTHENTICATION")));
        let challenge = answer.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains(r#"error="insufficient_user_authentication""#), "{challenge}");
        assert!(challenge.contains(r#"acr_values="aal2""#) && challenge.contains(r#"max_age="300""#), "{challenge}");
    }
    assert!(!left_of(&env, &[&account.user_id]).await.is_empty());
    // AND a step-up with the password and pyotp's code raises the same session, authenticated now
    let stepped = step_up(&env, &refresh_token_of(&refreshed), PASSWORD, &pyotp_now(&env, &account)).await;
    assert_eq!(stepped.status, 200, "{:?}", stepped.body);
    let raised = claims(&stepped);
    assert_eq!((&raised["acr"], &raised["auth_time"]), (&json!("aal2"), &json!(env.clock.now())));
    assert_eq!(raised["sid"], claims(&refreshed)["sid"]);
    // AND the password change asked again succeeds, and the old password signs in no more
    let changed = env.as_user(Endpoint::PasswordChange, &bearer(&stepped), change).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(env.sign_in(&account.phone, PASSWORD).await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn of_parallel_step_ups_with_one_code_exactly_one_raises_the_session() {
    // GIVEN a session of an account with an authenticator, and one code of the next step
    let env = Arc::new(TestEnv::new().await);
    let account = protected(&env).await;
    let signed_in = with_otp(&env, &challenge(&env, &account).await, &pyotp_now(&env, &account)).await;
    let refresh = refresh_token_of(&signed_in);
    let code = pyotp_codes(&account.uri, &[env.clock.now() + 30]).remove(0);
    // WHEN four step-ups with that code race on DynamoDB
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (env, refresh, code) = (Arc::clone(&env), refresh.clone(), code.clone());
            tokio::spawn(async move { step_up(&env, &refresh, PASSWORD, &code).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert!(answer.status == 200 || answer.body["error"] == "invalid_grant", "{:?}", answer.body);
        statuses.push(answer.status);
    }
    // THEN exactly one succeeds: the code's step is spent once
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400, 400]);
}

#[tokio::test]
async fn the_tables_enrolment_steps_keep_one_pending_authenticator_and_confirm_it_once() {
    use registration::adapters::dynamodb::DynamoStore;
    use registration::ports::{Directory, Factors, PendingTotp, TotpConfirmation};
    // GIVEN an account, and the table's own store (the enrolment endpoints are not built yet)
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let user_id = tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    let store = DynamoStore::new(env.dynamodb.clone(), env.table.clone());
    let now = env.clock.now();
    let pending = |id: &str| PendingTotp {
        factor_id: id.into(),
        sealed_secret: format!("sealed-{id}"),
        expires_at: now + 600,
        attempts_left: 5,
    };
    let confirm = |id: &'static str| TotpConfirmation {
        user_id: &user_id,
        factor_id: id,
        step: now / 30,
        recovery: None,
        now,
        events: Vec::new(),
    };
    // WHEN an enrolment is started, replaced by a second, and both are confirmed
    store.start_totp_enrolment(&user_id, &pending("f1")).await.unwrap();
    store.start_totp_enrolment(&user_id, &pending("f2")).await.unwrap();
    let first = store.confirm_totp(confirm("f1")).await;
    let second = store.confirm_totp(confirm("f2")).await;
    let again = store.confirm_totp(confirm("f2")).await;
    // THEN only the newest is made the authenticator, once, and no other can start after it
    assert!(first.is_err() && second.is_ok() && again.is_err(), "{first:?} {second:?} {again:?}");
    let factors = store.account(&user_id).await.unwrap().unwrap().factors;
    assert_eq!(factors.totp.as_ref().map(|t| t.sealed_secret.as_str()), Some("sealed-f2"));
    assert_eq!(factors.totp.unwrap().last_used_step, Some(now / 30));
    assert_eq!(factors.pending_totp, None);
    assert!(store.start_totp_enrolment(&user_id, &pending("f3")).await.is_err());
}
