//! Password reset by email: an account made by email-first signup, which has no phone, is never
//! locked out; unknown and merely pending addresses answer like known ones.

use e2e::{Answer, Endpoint, TestEnv, assert_error, bearer, extract_code, fresh_email, fresh_phone, other_code};
use serde_json::{Value, json};

const PASSWORD: &str = "Lantern-Otter-58";
const NEW_PASSWORD: &str = "Meadow-Falcon-73";

async fn forgot_by_email(env: &TestEnv, email: &str) -> Answer {
    env.call(Endpoint::PasswordForgot, json!({ "email": email }), &[]).await
}

async fn reset_by_email(env: &TestEnv, email: &str, code: &str, password: &str) -> Answer {
    env.call(Endpoint::PasswordReset, json!({ "email": email, "code": code, "password": password }), &[]).await
}

fn refresh_token(answer: &Answer) -> String {
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_email_first_account_without_a_phone_resets_its_password_by_email_and_its_old_sessions_die() {
    // GIVEN an account made by email-first signup (no phone), signed in on two devices
    let env = TestEnv::new().await;
    let email = fresh_email();
    let first = env.email_account(&email, PASSWORD).await;
    let second = env.sign_in(&email, PASSWORD).await;
    assert_eq!(second.status, 200, "{:?}", second.body);

    // WHEN it asks for a reset by email and resets with the code the email carries
    env.wait_out_cooldown();
    let asked = forgot_by_email(&env, &email).await;
    assert_eq!((asked.status, &asked.body), (200, &json!({ "result": "ok" })));
    let (subject, _) = env.emails_to(&email.to_lowercase()).await.last().cloned().unwrap();
    assert!(subject.ends_with("is your password reset code"), "{subject}");
    let code = env.emailed_code(&email).await;
    let reset = reset_by_email(&env, &email, &code, NEW_PASSWORD).await;

    // THEN the reset is done and both earlier sessions are dead, access and refresh tokens alike
    assert_eq!((reset.status, &reset.body), (200, &json!({ "result": "ok" })));
    for session in [&first, &second] {
        assert!(env.authenticate(&bearer(session)).await.is_err());
        assert_eq!(env.refresh(&refresh_token(session)).await.body["error"], "invalid_grant");
    }
    // AND the new password signs in, the old one no longer does, and the code worked once
    assert_eq!(env.sign_in(&email, NEW_PASSWORD).await.status, 200);
    assert_eq!(env.sign_in(&email, PASSWORD).await.body["error"], "invalid_grant");
    assert_error(&reset_by_email(&env, &email, &code, "Another-Pass-91").await, 400, "CODE_EXPIRED");
    // AND the address was told, in a message with no code and no link
    let (subject, body) = env.emails_to(&email.to_lowercase()).await.last().cloned().unwrap();
    assert_eq!(subject, "Your password was reset");
    assert!(extract_code(&subject).is_none() && !body.contains("href="), "{body}");
}

#[tokio::test]
async fn unknown_and_pending_addresses_get_the_same_answer_and_the_same_answers_to_guesses() {
    // GIVEN an account's confirmed address, an address only pending on another account, and one
    // nobody has
    let env = TestEnv::new().await;
    let (known, pending, unknown) = (fresh_email(), fresh_email(), fresh_email());
    env.email_account(&known, PASSWORD).await;
    let phone_account = env.registered(&fresh_phone(), PASSWORD).await;
    let added = env.as_user(Endpoint::EmailAdd, &bearer(&phone_account), json!({ "email": pending })).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    let mails_before = env.emails_to(&pending.to_lowercase()).await.len();
    env.wait_out_cooldown();

    // WHEN each asks for a reset by email
    let answers = [
        forgot_by_email(&env, &known).await,
        forgot_by_email(&env, &pending).await,
        forgot_by_email(&env, &unknown).await,
    ];

    // THEN all three answer alike, and only the confirmed address got a code
    for answer in &answers {
        assert_eq!((answer.status, &answer.body), (200, &json!({ "result": "ok" })));
    }
    assert!(env.emails_to(&known.to_lowercase()).await.last().unwrap().0.ends_with("password reset code"));
    assert_eq!(env.emails_to(&pending.to_lowercase()).await.len(), mails_before);
    assert!(env.emails_to(&unknown.to_lowercase()).await.is_empty());
    // AND six wrong guesses answer alike for each, attempts counting down the same way
    let real = env.emailed_code(&known).await;
    let mut seen: Vec<Vec<(u16, Value, Value)>> = Vec::new();
    for email in [&known, &pending, &unknown] {
        let mut guesses = Vec::new();
        for _ in 0..6 {
            let answer = reset_by_email(&env, email, &other_code(&real), NEW_PASSWORD).await;
            guesses.push((
                answer.status,
                answer.body["error"].clone(),
                answer.body["data"]["attemptsRemaining"].clone(),
            ));
        }
        seen.push(guesses);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[0][5].1, "CODE_EXPIRED");
    // AND a second ask within the minute is held back alike
    let again = [forgot_by_email(&env, &known).await.status, forgot_by_email(&env, &unknown).await.status];
    assert_eq!(again, [429, 429]);
}

#[tokio::test]
async fn a_reset_code_is_bound_to_its_address_and_purpose() {
    // GIVEN two email-first accounts, one of which has a reset code
    let env = TestEnv::new().await;
    let (ana, bob) = (fresh_email(), fresh_email());
    env.email_account(&ana, PASSWORD).await;
    env.email_account(&bob, PASSWORD).await;
    env.wait_out_cooldown();
    forgot_by_email(&env, &ana).await;
    let code = env.emailed_code(&ana).await;

    // WHEN the code is tried for the other address, or as a signup code
    let for_bob = reset_by_email(&env, &bob, &code, NEW_PASSWORD).await;
    let as_signup = env
        .call(Endpoint::SignupEmail, json!({ "email": ana, "password": NEW_PASSWORD, "emailConfirmCode": code }), &[])
        .await;

    // THEN neither works, and it still resets its own address
    assert_eq!(for_bob.status, 400);
    assert_eq!(as_signup.status, 400);
    assert_eq!(reset_by_email(&env, &ana, &code, NEW_PASSWORD).await.status, 200);
    assert_eq!(env.sign_in(&bob, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn phone_and_email_together_or_neither_or_malformed_are_400s() {
    let env = TestEnv::new().await;
    for body in [
        json!({ "phone": fresh_phone(), "email": fresh_email() }),
        json!({}),
        json!({ "email": "not-an-address" }),
        json!({ "email": 7 }),
    ] {
        let answer = env.call(Endpoint::PasswordForgot, body.clone(), &[]).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
    }
    let both = json!({ "phone": fresh_phone(), "email": fresh_email(), "code": "123456", "password": NEW_PASSWORD });
    assert_error(&env.call(Endpoint::PasswordReset, both, &[]).await, 400, "VALIDATION");
}
