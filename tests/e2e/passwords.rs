//! Forgot, reset, change; history of five; personal information; partner policies.

use e2e::{Answer, Endpoint, SEED_003_MERCHANT, TestEnv, bearer, fresh_phone};
use registration::ApiError;
use serde_json::{Value, json};

const PASSWORD: &str = "Original-pass-1";

fn refresh_token(answer: &Answer) -> String {
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

async fn change(env: &TestEnv, auth: &str, old: &str, new: &str) -> Answer {
    env.as_user(Endpoint::PasswordChange, auth, json!({ "oldPassword": old, "newPassword": new })).await
}

#[tokio::test]
async fn forgot_answers_alike_for_known_and_unknown_phones_and_texts_only_the_known() {
    let env = TestEnv::new().await;
    let known = fresh_phone();
    env.registered(&known, PASSWORD).await;
    let unknown = fresh_phone();
    let pending = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": pending, "password": PASSWORD })).await.status, 200);
    env.wait_out_cooldown();

    let answers = [env.forgot(&known).await, env.forgot(&unknown).await, env.forgot(&pending).await];
    for answer in &answers {
        assert_eq!(
            (answer.status, &answer.body, &answer.headers),
            (answers[0].status, &answers[0].body, &answers[0].headers)
        );
    }
    assert_eq!(answers[0].body, json!({ "result": "ok" }));
    assert!(env.sms_to(&unknown).await.is_empty(), "nothing to a phone without an account");
    assert_eq!(env.sms_to(&pending).await.len(), 1, "only the signup code to a pending account");
    let texts = env.sms_to(&known).await;
    assert!(texts.last().unwrap().contains("password reset code"));
    // The limits are the same too: a second request inside the cooldown is held back for both.
    assert_eq!(env.forgot(&known).await.status, 429);
    assert_eq!(env.forgot(&unknown).await.status, 429);
}

#[tokio::test]
async fn reset_works_once_and_kills_every_earlier_session_token_and_password() {
    // GIVEN a user signed in on two devices
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let first = env.registered(&phone, PASSWORD).await;
    let second = env.sign_in(&phone, PASSWORD).await;
    env.wait_out_cooldown();

    // WHEN they reset the password with the SMS code
    assert_eq!(env.forgot(&phone).await.status, 200);
    let code = env.latest_code(&phone).await;
    let reset = env.reset(&phone, &code, "Brand-new-pass-7").await;
    assert_eq!((reset.status, &reset.body), (200, &json!({ "result": "ok" })));

    // THEN the same code does not work twice
    let again = env.reset(&phone, &code, "Another-pass-8").await;
    assert_eq!((again.status, &again.body["error"]), (400, &json!("CODE_EXPIRED")));
    // AND every earlier refresh token, access token and the old password are refused
    for session in [&first, &second] {
        assert_eq!(env.refresh(&refresh_token(session)).await.body["error"], "invalid_grant");
        assert!(matches!(env.authenticate(&bearer(session)).await, Err(ApiError::Unauthorized(_))));
    }
    assert_eq!(env.sign_in(&phone, PASSWORD).await.body["error"], "invalid_grant");
    // AND the new password signs in, and its session works
    let fresh = env.sign_in(&phone, "Brand-new-pass-7").await;
    env.authenticate(&bearer(&fresh)).await.unwrap();
}

#[tokio::test]
async fn codes_are_bound_to_their_purpose() {
    let env = TestEnv::new().await;
    // A signup code cannot reset a password...
    let pending = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": pending, "password": PASSWORD })).await.status, 200);
    let signup_code = env.latest_code(&pending).await;
    let refused = env.reset(&pending, &signup_code, "Brand-new-pass-7").await;
    assert_eq!((refused.status, &refused.body["error"]), (400, &json!("CODE_EXPIRED")));
    // ...and is still good for what it was sent for.
    assert_eq!(env.confirm(&pending, &signup_code).await.status, 200);

    // A reset code cannot confirm a signup.
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    env.forgot(&phone).await;
    let reset_code = env.latest_code(&phone).await;
    assert_eq!(env.confirm(&phone, &reset_code).await.status, 400);
    assert_eq!(env.reset(&phone, &reset_code, "Brand-new-pass-7").await.status, 200);
}

#[tokio::test]
async fn five_wrong_reset_codes_kill_the_code() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    env.forgot(&phone).await;
    let code = env.latest_code(&phone).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for remaining in (0..5).rev() {
        let answer = env.reset(&phone, &wrong, "Brand-new-pass-7").await;
        assert_eq!(answer.body["data"]["attemptsRemaining"], remaining);
    }
    assert_eq!(env.reset(&phone, &code, "Brand-new-pass-7").await.body["error"], "CODE_EXPIRED");
    env.clock.advance(5 * 60);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200, "the password did not change");
}

#[tokio::test]
async fn the_current_and_four_before_it_cannot_be_chosen_again() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    let passwords = [PASSWORD, "Second-pass-2", "Third-pass-3", "Fourth-pass-4", "Fifth-pass-5", "Sixth-pass-6"];
    for pair in passwords.windows(2) {
        assert_eq!(change(&env, &auth, pair[0], pair[1]).await.status, 200);
    }
    // The current one and the four before it are refused, each with the rule named.
    for old in &passwords[1..] {
        let refused = change(&env, &auth, "Sixth-pass-6", old).await;
        assert_eq!((refused.status, &refused.body["data"]["rule"]), (400, &json!("reused")), "{old}");
    }
    // The sixth-newest is free again.
    assert_eq!(change(&env, &auth, "Sixth-pass-6", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_password_with_the_users_name_birth_date_or_email_is_refused() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    let details = json!({ "firstName": "Marisol", "lastName": "Quintero", "birthDate": "1991-07-14" });
    assert_eq!(env.as_user(Endpoint::ProfileUpdate, &auth, details).await.status, 204);
    for password in ["Marisol-2026!", "m4r1s0l-quick", "QUINTERO-home-5", "pass-14071991", "pass-19910714"] {
        let refused = change(&env, &auth, PASSWORD, password).await;
        assert_eq!((refused.status, &refused.body["data"]["rule"]), (400, &json!("personal_info")), "{password}");
    }
    // The same rule holds on reset.
    env.wait_out_cooldown();
    env.forgot(&phone).await;
    let code = env.latest_code(&phone).await;
    let refused = env.reset(&phone, &code, "marisol-is-back-1").await;
    assert_eq!(refused.body["data"]["rule"], "personal_info");
    assert_eq!(env.reset(&phone, &code, "Unrelated-words-42").await.status, 200);
}

#[tokio::test]
async fn a_change_revokes_other_sessions_and_keeps_the_current_one() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let current = env.registered(&phone, PASSWORD).await;
    let other = env.sign_in(&phone, PASSWORD).await;

    assert_eq!(change(&env, &bearer(&current), PASSWORD, "Changed-pass-9").await.status, 200);

    env.authenticate(&bearer(&current)).await.unwrap();
    assert_eq!(env.refresh(&refresh_token(&current)).await.status, 200);
    assert!(matches!(env.authenticate(&bearer(&other)).await, Err(ApiError::Unauthorized(_))));
    assert_eq!(env.refresh(&refresh_token(&other)).await.body["error"], "invalid_grant");
    assert_eq!(env.sign_in(&phone, "Changed-pass-9").await.status, 200);
}

#[tokio::test]
async fn a_wrong_old_password_is_refused_and_backs_off_like_sign_in() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    for _ in 0..5 {
        let refused = change(&env, &auth, "Not-the-password-1", "Changed-pass-9").await;
        assert_eq!((refused.status, &refused.body["field"]), (400, &json!("oldPassword")));
    }
    let held = change(&env, &auth, PASSWORD, "Changed-pass-9").await;
    assert_eq!(held.status, 429);
    assert_eq!(held.body["data"]["retryAfter"], 30);
}

#[tokio::test]
async fn a_partner_can_choose_the_seed_003_policy() {
    let env = TestEnv::new().await;
    let partner = [("x-merchant-id", Some(SEED_003_MERCHANT))];
    let weak_for_003 =
        env.call(Endpoint::Signup, json!({ "phone": fresh_phone(), "password": "1234Qwerty" }), &partner).await;
    assert_eq!((weak_for_003.status, &weak_for_003.body["data"]["rule"]), (400, &json!("symbol")));
    assert_eq!(weak_for_003.body["data"]["rules"], json!(["symbol"]));
    let strong = env.call(Endpoint::Signup, json!({ "phone": fresh_phone(), "password": "A9#bL8@z" }), &partner).await;
    assert_eq!(strong.status, 200, "{:?}", strong.body);
    // The default partner keeps seed 000's policy.
    assert_eq!(env.signup(json!({ "phone": fresh_phone(), "password": "1234Qwerty" })).await.status, 200);
}

#[tokio::test]
async fn malformed_password_requests_are_400s() {
    let env = TestEnv::new().await;
    for (endpoint, body) in [
        (Endpoint::PasswordForgot, json!({})),
        (Endpoint::PasswordForgot, json!({ "phone": 7 })),
        (Endpoint::PasswordReset, json!({ "phone": fresh_phone(), "code": "12", "password": "x" })),
        (Endpoint::PasswordReset, json!({ "phone": fresh_phone(), "password": "x" })),
        (Endpoint::PasswordReset, Value::String("{".into())),
    ] {
        let answer = env.call(endpoint, body.clone(), &[]).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
    }
}

#[tokio::test]
async fn a_reset_with_more_live_sessions_than_a_transaction_holds_goes_through_and_ends_every_one() {
    use registration::factors::assurance::Assurance;
    use registration::ports::{Clock, NewSession};

    // GIVEN a user with 120 live sessions: more than the 100 items a DynamoDB transaction takes,
    // beside the account, its event, the code and its claim
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let headers = [("authorization", Some(bearer(&tokens))), ("x-merchant-id", Some(e2e::MERCHANT.to_owned()))];
    let headers: Vec<(&str, Option<&str>)> = headers.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    let profile = env.call(Endpoint::ProfileGet, Value::Null, &headers).await;
    let user_id = profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    let account = env.app.store.account(&user_id).await.unwrap().unwrap();
    let now = env.clock.now();
    for n in 0..120 {
        let session = NewSession {
            session_id: format!("bulk-{n:03}"),
            refresh_token_hash: format!("{n:064x}"),
            created_at: now,
            expires_at: now + 86_400,
            fingerprint: None,
            credential_version: account.credential_version,
            assurance: Assurance::password(now),
        };
        env.app.store.start_session(&user_id, e2e::MERCHANT, session, &account.password_hash).await.unwrap();
    }
    env.wait_out_cooldown();
    // WHEN the password is reset with the SMS code
    assert_eq!(env.forgot(&phone).await.status, 200);
    let code = env.latest_code(&phone).await;
    let reset = env.reset(&phone, &code, "Brand-new-pass-7").await;
    // THEN it goes through, and no session of the account is live any more
    assert_eq!((reset.status, &reset.body), (200, &json!({ "result": "ok" })));
    let after = env.app.store.account(&user_id).await.unwrap().unwrap();
    let sessions = env.app.store.sessions(&user_id).await.unwrap();
    assert!(sessions.len() >= 121, "{} sessions", sessions.len());
    assert!(sessions.iter().all(|s| !s.is_live(env.clock.now(), after.credential_version)));
    assert!(matches!(env.authenticate(&bearer(&tokens)).await, Err(ApiError::Unauthorized(_))));
}
