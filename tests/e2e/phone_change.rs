//! A user moves their account to a new number: the password first, then the code the new number
//! got. Until then the old number is the account's; after, it is free and told.

use std::sync::Arc;

use e2e::{
    Answer, Endpoint, TestEnv, assert_error, bearer, extract_code, fresh_email, fresh_phone, in_parallel, other_code,
};
use serde_json::{Value, json};

const PASSWORD: &str = "Copper-Heron-64";

async fn ask(env: &TestEnv, auth: &str, phone: &str, password: &str) -> Answer {
    env.as_user(Endpoint::PhoneChange, auth, json!({ "phone": phone, "password": password })).await
}

async fn confirm(env: &TestEnv, auth: &str, phone: &str, code: &str) -> Answer {
    env.as_user(Endpoint::PhoneChange, auth, json!({ "phone": phone, "code": code })).await
}

async fn profile(env: &TestEnv, auth: &str) -> Value {
    let answer = env.as_user(Endpoint::ProfileGet, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

#[tokio::test]
async fn a_change_whose_code_is_never_entered_leaves_the_old_number_working() {
    // GIVEN a signed-in user who asked to move to a new number
    let env = TestEnv::new().await;
    let (old, new) = (fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&old, PASSWORD).await);
    let asked = ask(&env, &auth, &new, PASSWORD).await;
    assert_eq!((asked.status, &asked.body), (200, &json!({ "result": "ok" })));
    let code = env.latest_code(&new).await;

    // WHEN the code is never entered, and expires
    env.clock.advance(5 * 60);

    // THEN the old number is still the account's and signs in; the new one signs in to nothing
    assert_eq!(env.sign_in(&old, PASSWORD).await.status, 200);
    assert_eq!(env.sign_in(&new, PASSWORD).await.body["error"], "invalid_grant");
    assert_eq!(profile(&env, &auth).await["phone"], old.as_str());
    assert_error(&confirm(&env, &auth, &new, &code).await, 400, "CODE_EXPIRED");
    assert_eq!(profile(&env, &auth).await["phone"], old.as_str());
}

#[tokio::test]
async fn a_confirmed_change_moves_the_account_keeps_its_sessions_and_frees_and_tells_the_old_number() {
    // GIVEN a signed-in user with a confirmed email, and a code sent to their new number
    let env = TestEnv::new().await;
    let (old, new, unknown) = (fresh_phone(), fresh_phone(), fresh_phone());
    let tokens = env.registered(&old, PASSWORD).await;
    let auth = bearer(&tokens);
    let email = fresh_email();
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await;
    env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await;
    let user_id = profile(&env, &auth).await["userId"].clone();
    assert_eq!(ask(&env, &auth, &new, PASSWORD).await.status, 200);

    // WHEN the code from the new number is entered
    let moved = confirm(&env, &auth, &new, &env.latest_code(&new).await).await;

    // THEN the account has the new number, confirmed, at the same KYC level
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!((&moved.body["phone"], &moved.body["phoneVerified"]), (&json!(new), &json!(true)));
    assert_eq!(profile(&env, &auth).await["phone"], new.as_str());
    // AND the session it was made from still works, access and refresh token alike
    assert!(env.authenticate(&auth).await.is_ok());
    assert_eq!(env.refresh(tokens.body["refresh_token"].as_str().unwrap()).await.status, 200);
    // AND the new number signs in; the old one answers exactly like a number nobody has
    assert_eq!(env.sign_in(&new, PASSWORD).await.status, 200);
    let (by_old, by_unknown) = (env.sign_in(&old, PASSWORD).await, env.sign_in(&unknown, PASSWORD).await);
    assert_eq!((by_old.status, &by_old.body), (by_unknown.status, &by_unknown.body));
    // AND the old number and the address were told, with no code
    let notice = env.sms_to(&old).await.last().cloned().unwrap();
    assert!(notice.starts_with("Your phone number was changed"), "{notice}");
    assert!(extract_code(&notice).is_none(), "{notice}");
    assert_eq!(env.emails_to(&email.to_lowercase()).await.last().unwrap().0, "Your phone number was changed");
    // AND the old number can sign up anew, as a new account
    env.wait_out_cooldown();
    let fresh = env.registered(&old, "Another-Pass-19").await;
    assert_ne!(profile(&env, &bearer(&fresh)).await["userId"], user_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_parallel_confirmations_of_one_change_give_one_success() {
    // GIVEN a code sent to the new number
    let env = Arc::new(TestEnv::new().await);
    let (old, new) = (fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&old, PASSWORD).await);
    assert_eq!(ask(&env, &auth, &new, PASSWORD).await.status, 200);
    let code = env.latest_code(&new).await;

    // WHEN two copies of the function confirm it at once
    let attempts = (0..2)
        .map(|_| {
            let (env, auth, new, code) = (env.clone(), auth.clone(), new.clone(), code.clone());
            async move { confirm(&env, &auth, &new, &code).await }
        })
        .collect();
    let answers = in_parallel(attempts).await;

    // THEN one moved the account and the other was told the code is spent; nothing is half done
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{answers:?}");
    assert!(answers.iter().any(|a| a.body["error"] == "CODE_EXPIRED"));
    assert_eq!(profile(&env, &auth).await["phone"], new.as_str());
    assert_eq!(env.sign_in(&new, PASSWORD).await.status, 200);
    assert_eq!(env.sign_in(&old, PASSWORD).await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_number_another_account_holds_answers_like_a_free_one_and_its_owner_is_told() {
    // GIVEN two accounts
    let env = TestEnv::new().await;
    let (mine, theirs, free) = (fresh_phone(), fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&mine, PASSWORD).await);
    env.registered(&theirs, PASSWORD).await;
    env.wait_out_cooldown();

    // WHEN the first asks to move to the second's number, and to a free one
    let taken = ask(&env, &auth, &theirs, PASSWORD).await;
    let open = ask(&env, &auth, &free, PASSWORD).await;

    // THEN both answers are the same; the owner got a notice, not a code
    assert_eq!((taken.status, &taken.body), (open.status, &open.body));
    let notice = env.sms_to(&theirs).await.last().cloned().unwrap();
    assert!(notice.starts_with("Someone tried to add this phone number"), "{notice}");
    // AND guessing at the taken number counts down like guessing at the free one
    let real = env.latest_code(&free).await;
    for left in (0..5).rev() {
        let at_taken = confirm(&env, &auth, &theirs, &other_code(&real)).await;
        let at_free = confirm(&env, &auth, &free, &other_code(&real)).await;
        assert_eq!(
            (&at_taken.body["error"], &at_taken.body["data"]["attemptsRemaining"]),
            (&json!("CODE_INVALID"), &json!(left))
        );
        assert_eq!(at_taken.body, at_free.body);
    }
    // AND the other account keeps its number
    assert_eq!(env.sign_in(&theirs, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_reset_code_sent_to_the_old_number_resets_nothing_after_the_move() {
    // GIVEN a reset code sent to the account's number, and then a move to a new number
    let env = TestEnv::new().await;
    let (old, new) = (fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&old, PASSWORD).await);
    env.wait_out_cooldown();
    env.forgot(&old).await;
    let reset_code = env.latest_code(&old).await;
    ask(&env, &auth, &new, PASSWORD).await;
    assert_eq!(confirm(&env, &auth, &new, &env.latest_code(&new).await).await.status, 200);

    // WHEN whoever has the old number tries the reset code
    let reset = env.reset(&old, &reset_code, "Taken-Over-77").await;

    // THEN it resets nothing: the password is the owner's
    assert_error(&reset, 400, "CODE_EXPIRED");
    assert_eq!(env.sign_in(&new, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn wrong_password_own_number_barred_country_foreign_codes_and_no_phone_are_4xx_and_change_nothing() {
    let env = TestEnv::new().await;
    let (old, new) = (fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&old, PASSWORD).await);

    // A wrong password: 400 on `password`, no code sent, and it counts like a wrong sign-in
    let wrong = ask(&env, &auth, &new, "Not-the-password-1").await;
    assert_error(&wrong, 400, "VALIDATION");
    assert_eq!(wrong.body["field"], "password");
    assert!(env.sms_to(&new).await.is_empty());
    // The account's own number, a number outside the partner's countries, a malformed one
    assert_error(&ask(&env, &auth, &old, PASSWORD).await, 400, "VALIDATION");
    assert_error(&ask(&env, &auth, "+4915112345678", PASSWORD).await, 400, "SMS_COUNTRY_NOT_ALLOWED");
    assert_eq!(ask(&env, &auth, "0787", PASSWORD).await.status, 400);
    // Neither password nor code, or both
    assert_error(&env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new })).await, 400, "VALIDATION");
    let both = json!({ "phone": new, "password": PASSWORD, "code": "123456" });
    assert_error(&env.as_user(Endpoint::PhoneChange, &auth, both).await, 400, "VALIDATION");
    // A code for another number, or for another purpose (a signup code of a number being signed up)
    assert_eq!(ask(&env, &auth, &new, PASSWORD).await.status, 200);
    let code = env.latest_code(&new).await;
    let elsewhere = fresh_phone();
    assert_eq!(confirm(&env, &auth, &elsewhere, &code).await.status, 400);
    let signing_up = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": signing_up, "password": PASSWORD })).await.status, 200);
    let signup_code = env.latest_code(&signing_up).await;
    assert_error(&confirm(&env, &auth, &signing_up, &signup_code).await, 400, "CODE_EXPIRED");
    // Without a bearer token: 401
    assert_eq!(env.call(Endpoint::PhoneChange, json!({ "phone": new, "password": PASSWORD }), &[]).await.status, 401);
    // An account without a phone: 409, use phone add
    let emailer = bearer(&env.email_account(&fresh_email(), PASSWORD).await);
    assert_error(&ask(&env, &emailer, &new, PASSWORD).await, 409, "PHONE_NOT_SET");
    // AND nothing changed: the old number is the account's, the code still works once
    assert_eq!(profile(&env, &auth).await["phone"], old.as_str());
    assert_eq!(confirm(&env, &auth, &new, &code).await.status, 200);
}
