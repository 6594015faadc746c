//! The findings of the adversarial review (issue 14), one test each or more. The races run the
//! handlers truly in parallel: tasks on a multi-threaded runtime, as Lambda runs many copies.

use std::sync::Arc;
use std::time::Duration;

use e2e::{
    Answer, Endpoint, MERCHANT, SANDBOX_MERCHANT, TestEnv, bearer, extract_code, fresh_phone, in_parallel, other_code,
};
use futures::future::join_all;
use lambda_http::Body;
use serde_json::{Value, json};

const PASSWORD: &str = "Harbour-Kestrel-42";

fn fresh_email(name: &str) -> String {
    format!("{name}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status).collect()
}

async fn profile(env: &TestEnv, auth: &str) -> Value {
    let answer = env.as_user(Endpoint::ProfileGet, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// Adds `email` to the signed-in account and follows the link as an app would.
async fn confirmed_email(env: &TestEnv, auth: &str, email: &str) {
    assert_eq!(env.as_user(Endpoint::EmailAdd, auth, json!({ "email": email })).await.status, 200);
    let confirmed = env.open_link(&env.latest_link(email).await, true).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
}

async fn email_signup(env: &TestEnv, email: &str, code: Option<&str>) -> Answer {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(code) = code {
        body["emailConfirmCode"] = json!(code);
    }
    env.call(Endpoint::SignupEmail, body, &[]).await
}

/// An email-first account (no phone), signed in.
async fn email_first_account(env: &TestEnv) -> String {
    let email = fresh_email("first");
    assert_eq!(email_signup(env, &email, None).await.status, 200);
    let (subject, _) = env.emails_to(&email).await.pop().unwrap();
    bearer(&email_signup(env, &email, Some(&extract_code(&subject).unwrap())).await)
}

// Finding 1: the sign-in back-off holds against parallel guesses.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn once_the_wait_is_over_twelve_parallel_sign_ins_get_one_password_check() {
    // GIVEN an account whose streak is at its block, and the wait just over
    let env = Arc::new(TestEnv::new().await);
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(env.sign_in(&phone, "Wrong-guess-0").await.status, 400);
    }
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 429);
    env.clock.advance(30);

    // WHEN twelve copies of the token function each try a password at once
    let answers = in_parallel(
        (0..12)
            .map(|i| {
                let (env, phone) = (env.clone(), phone.clone());
                async move { env.sign_in(&phone, &format!("Wrong-guess-{i}")).await }
            })
            .collect(),
    )
    .await;

    // THEN exactly one password was checked; the others were held back
    let held = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(held, 11, "{:?}", statuses(&answers));
    assert!(answers.iter().all(|a| a.status == 429 || a.body["error"] == "invalid_grant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_password_changes_get_one_old_password_check_once_the_wait_is_over() {
    // GIVEN a signed-in user whose streak is at its block, and the wait just over
    let env = Arc::new(TestEnv::new().await);
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let change = |env: Arc<TestEnv>, auth: String, old: String| async move {
        env.as_user(Endpoint::PasswordChange, &auth, json!({ "oldPassword": old, "newPassword": "Brand-new-pass-7" }))
            .await
    };
    for _ in 0..5 {
        assert_eq!(change(env.clone(), auth.clone(), "Wrong-old-0".into()).await.status, 400);
    }
    assert_eq!(change(env.clone(), auth.clone(), PASSWORD.into()).await.status, 429);
    env.clock.advance(30);

    // WHEN twelve changes with wrong old passwords race
    let answers =
        in_parallel((0..12).map(|i| change(env.clone(), auth.clone(), format!("Wrong-old-{i}"))).collect()).await;

    // THEN one old password was checked, eleven were held back
    assert_eq!(answers.iter().filter(|a| a.status == 429).count(), 11, "{:?}", statuses(&answers));
}

// Finding 2: nobody who never got an SMS can know the password of an account confirmed from it.

#[tokio::test]
async fn a_second_signup_for_a_pending_phone_never_gives_the_account_its_password() {
    // GIVEN a victim's pending signup
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": "Victim-pass-1" })).await.status, 200);
    env.wait_out_cooldown();

    // WHEN an attacker signs the same number up with their own password, and the victim enters the
    // newest code
    let attacker = env.signup(json!({ "phone": phone, "password": "Attacker-pass-2" })).await;
    assert_eq!(attacker.status, 200);
    let tokens = env.confirm(&phone, &env.latest_code(&phone).await).await;

    // THEN the victim is signed in, and the attacker's password opens nothing
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(env.sign_in(&phone, "Attacker-pass-2").await.body["error"], "invalid_grant");
    // AND the number's owner sets a password of their own with an SMS code
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&phone).await.status, 200);
    let reset = env.reset(&phone, &env.latest_code(&phone).await, "Victim-new-pass-3").await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert_eq!(env.sign_in(&phone, "Victim-new-pass-3").await.status, 200);
}

#[tokio::test]
async fn signing_up_twice_with_the_same_password_keeps_it() {
    // GIVEN a pending signup, repeated by the same person with the same password
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    env.wait_out_cooldown();
    assert_eq!(env.signup(json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    // WHEN they confirm with the newest code
    assert_eq!(env.confirm(&phone, &env.latest_code(&phone).await).await.status, 200);
    // THEN their password works
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200);
}

// Finding 3: the next request tells a known identifier from an unknown one no more than the first.

/// Sends the same wrong code six times for both; every answer must match, attempts included.
async fn wrong_codes_answer_alike<F, Fut>(known: &str, unknown: &str, wrong: &str, attempt: F)
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Answer>,
{
    for round in 0..6 {
        let a = attempt(known.to_owned(), wrong.to_owned()).await;
        let b = attempt(unknown.to_owned(), wrong.to_owned()).await;
        assert_eq!((a.status, &a.body), (b.status, &b.body), "round {round}: {known} vs {unknown}");
        if round == 0 {
            assert_eq!(
                (a.body["error"].clone(), a.body["data"]["attemptsRemaining"].clone()),
                (json!("CODE_INVALID"), json!(4))
            );
        }
    }
}

#[tokio::test]
async fn after_signup_a_wrong_code_answers_alike_for_a_taken_and_a_new_phone() {
    // GIVEN a phone with an account and a new one, both just signed up for
    let env = TestEnv::new().await;
    let (taken, new) = (fresh_phone(), fresh_phone());
    env.registered(&taken, PASSWORD).await;
    env.wait_out_cooldown();
    for phone in [&taken, &new] {
        assert_eq!(env.signup(json!({ "phone": phone, "password": "Someone-pass-5" })).await.status, 200);
    }
    // WHEN the caller tries codes for both THEN every answer matches
    let wrong = other_code(&env.latest_code(&new).await);
    wrong_codes_answer_alike(&taken, &new, &wrong, |phone, code| {
        let env = &env;
        async move { env.confirm(&phone, &code).await }
    })
    .await;
    // AND a resend answers alike too, and so does the code after it
    env.wait_out_cooldown();
    let (a, b) = (env.resend(&taken).await, env.resend(&new).await);
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    let wrong = other_code(&env.latest_code(&new).await);
    let (a, b) = (env.confirm(&taken, &wrong).await, env.confirm(&new, &wrong).await);
    assert_eq!((a.status, &a.body), (b.status, &b.body));
}

#[tokio::test]
async fn after_forgot_a_wrong_reset_code_answers_alike_for_a_known_and_an_unknown_phone() {
    let env = TestEnv::new().await;
    let (known, unknown) = (fresh_phone(), fresh_phone());
    env.registered(&known, PASSWORD).await;
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&known).await.status, 200);
    assert_eq!(env.forgot(&unknown).await.status, 200);
    let wrong = other_code(&env.latest_code(&known).await);
    wrong_codes_answer_alike(&known, &unknown, &wrong, |phone, code| {
        let env = &env;
        async move { env.reset(&phone, &code, "Another-pass-77").await }
    })
    .await;
}

#[tokio::test]
async fn after_email_signup_a_wrong_code_answers_alike_for_a_taken_and_a_new_address() {
    let env = TestEnv::new().await;
    let taken = fresh_email("taken");
    let new = fresh_email("new");
    assert_eq!(email_signup(&env, &taken, None).await.status, 200);
    let (subject, _) = env.emails_to(&taken).await.pop().unwrap();
    bearer(&email_signup(&env, &taken, Some(&extract_code(&subject).unwrap())).await);
    env.wait_out_cooldown();
    for address in [&taken, &new] {
        assert_eq!(email_signup(&env, address, None).await.status, 200);
    }
    let (subject, _) = env.emails_to(&new).await.pop().unwrap();
    let wrong = other_code(&extract_code(&subject).unwrap());
    wrong_codes_answer_alike(&taken, &new, &wrong, |address, code| {
        let env = &env;
        async move { email_signup(env, &address, Some(&code)).await }
    })
    .await;
}

#[tokio::test]
async fn after_phone_add_a_wrong_code_answers_alike_for_a_taken_and_a_free_phone() {
    // GIVEN a phone another account holds, and two email-first accounts
    let env = TestEnv::new().await;
    let taken = fresh_phone();
    env.registered(&taken, PASSWORD).await;
    let (first, second) = (email_first_account(&env).await, email_first_account(&env).await);
    let free = fresh_phone();
    env.wait_out_cooldown();
    // WHEN one adds the taken phone and the other a free one
    let add = |auth: &String, body: Value| {
        let (env, auth) = (&env, auth.clone());
        async move { env.as_user(Endpoint::PhoneAdd, &auth, body).await }
    };
    assert_eq!(add(&first, json!({ "phone": taken })).await.status, 200);
    assert_eq!(add(&second, json!({ "phone": free })).await.status, 200);
    // THEN wrong codes answer alike, attempts included
    let wrong = other_code(&env.latest_code(&free).await);
    for round in 0..6 {
        let a = add(&first, json!({ "phone": taken, "code": wrong })).await;
        let b = add(&second, json!({ "phone": free, "code": wrong })).await;
        assert_eq!((a.status, &a.body), (b.status, &b.body), "round {round}");
    }
}

#[tokio::test]
async fn after_adding_an_address_another_account_owns_the_profile_and_resend_answer_as_for_a_free_one() {
    // GIVEN an address another account has confirmed
    let env = TestEnv::new().await;
    let owner = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let owned = fresh_email("owned");
    confirmed_email(&env, &owner, &owned).await;
    let (first, second) = (
        bearer(&env.registered(&fresh_phone(), PASSWORD).await),
        bearer(&env.registered(&fresh_phone(), PASSWORD).await),
    );
    let free = fresh_email("free");
    env.wait_out_cooldown();

    // WHEN one account adds the owned address and another a free one
    assert_eq!(env.as_user(Endpoint::EmailAdd, &first, json!({ "email": owned })).await.status, 200);
    assert_eq!(env.as_user(Endpoint::EmailAdd, &second, json!({ "email": free })).await.status, 200);

    // THEN both profiles show the address as pending, and a resend answers alike
    let (a, b) = (profile(&env, &first).await, profile(&env, &second).await);
    assert_eq!((a["pendingEmail"].clone(), a["emailVerified"].clone()), (json!(owned), json!(false)));
    assert_eq!((b["pendingEmail"].clone(), b["emailVerified"].clone()), (json!(free), json!(false)));
    env.wait_out_cooldown();
    let (a, b) = (
        env.as_user(Endpoint::EmailResend, &first, Value::Null).await,
        env.as_user(Endpoint::EmailResend, &second, Value::Null).await,
    );
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.status, 200, "{:?}", a.body);
    // AND the owner's mailbox never got a link that would confirm it for the other account
    assert!(env.emails_to(&owned).await.iter().skip(1).all(|(_, html)| e2e::extract_link(html).is_none()));
}

// Finding 4: no session or token made with the old password outlives a reset.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_sign_in_racing_a_reset_leaves_a_working_session_or_token() {
    // GIVEN an account with a reset code
    let env = Arc::new(TestEnv::new().await);
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&phone).await.status, 200);
    let code = env.latest_code(&phone).await;

    // WHEN one sign-in with the old password finished before the reset, and more start just before,
    // during and after it
    let before = env.sign_in(&phone, PASSWORD).await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    let sign_ins: Vec<_> = (0..16u64)
        .map(|i| {
            let (env, phone) = (env.clone(), phone.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10 * i)).await;
                let body = json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
                let ip = format!("198.51.100.{}", i + 1);
                env.call_from(Some(&ip), Endpoint::Token, Body::Text(body.to_string()), &[]).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(25)).await;
    let reset = env.reset(&phone, &code, "Fresh-after-reset-9").await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    let mut answers: Vec<Answer> = join_all(sign_ins).await.into_iter().map(|r| r.unwrap()).collect();
    answers.push(before);

    // THEN no access token or refresh token from any of them works once the reset has answered
    for answer in answers.iter().filter(|a| a.status == 200) {
        assert!(env.authenticate(&bearer(answer)).await.is_err(), "an access token outlived the reset");
        let refreshed = env.refresh(answer.body["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refreshed.status, 400, "a refresh token outlived the reset: {:?}", refreshed.body);
    }
}

// Finding 5: one account cannot pump SMS or email to many recipients.

#[tokio::test]
async fn one_account_reaches_at_most_three_new_phones_and_three_new_addresses_a_day() {
    let env = TestEnv::new().await;
    // GIVEN an email-first account adding phones, and a phone account adding addresses
    let emailer = email_first_account(&env).await;
    let phones: Vec<String> = (0..4).map(|_| fresh_phone()).collect();
    let added: Vec<u16> =
        join_all(phones.iter().map(|p| env.as_user(Endpoint::PhoneAdd, &emailer, json!({ "phone": p }))))
            .await
            .iter()
            .map(|a| a.status)
            .collect();
    let texter_phone = fresh_phone();
    let texter = bearer(&env.registered(&texter_phone, PASSWORD).await);
    let addresses: Vec<String> = (0..4).map(|_| fresh_email("pump")).collect();
    let mut mailed = Vec::new();
    for address in &addresses {
        mailed.push(env.as_user(Endpoint::EmailAdd, &texter, json!({ "email": address })).await);
    }
    // THEN three of each went out and the fourth was held back
    let mut sorted = added.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 200, 200, 429], "{added:?}");
    assert_eq!(statuses(&mailed), [200, 200, 200, 429]);
    assert_eq!(mailed[3].body["error"], "TOO_MANY_REQUESTS");
    let sent = join_all(phones.iter().map(|p| env.sms_to(p))).await;
    assert_eq!(sent.iter().filter(|s| !s.is_empty()).count(), 3);
    // AND the same recipient again is not a new one (only its own cooldown applies)
    env.wait_out_cooldown();
    let again = env.as_user(Endpoint::EmailAdd, &texter, json!({ "email": addresses[0] })).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    // AND a day later (signed in again) the account may reach new recipients again
    env.clock.advance(24 * 3600);
    let texter = bearer(&env.sign_in(&texter_phone, PASSWORD).await);
    assert_eq!(env.as_user(Endpoint::EmailAdd, &texter, json!({ "email": fresh_email("pump") })).await.status, 200);
}

#[tokio::test]
async fn phone_and_email_adds_from_one_address_are_limited_per_ip() {
    // GIVEN four accounts behind one IP
    let env = TestEnv::new().await;
    let mut accounts = Vec::new();
    for _ in 0..4 {
        accounts.push(bearer(&env.registered(&fresh_phone(), PASSWORD).await));
    }
    let from = |ip: &'static str, auth: String| {
        let env = &env;
        async move {
            let body = json!({ "email": fresh_email("ip") }).to_string();
            env.call_from(Some(ip), Endpoint::EmailAdd, Body::Text(body), &[("authorization", Some(&auth))]).await
        }
    };
    // WHEN they add addresses, three each, from that IP
    let mut answers = Vec::new();
    for auth in accounts.iter().flat_map(|a| [a, a, a]).take(11) {
        answers.push(from("192.0.2.77", auth.clone()).await);
    }
    // THEN the eleventh is held back by the per-IP limit, and another IP is not
    assert_eq!(statuses(&answers[..10]), [200; 10]);
    assert_eq!(answers[10].status, 429, "{:?}", answers[10].body);
    assert_eq!(from("192.0.2.78", accounts[3].clone()).await.status, 200);
}

// Finding 6: a link scanner opening the link confirms nothing.

#[tokio::test]
async fn opening_the_link_shows_a_button_and_only_the_button_confirms() {
    // GIVEN a user who added an address
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let address = fresh_email("scanned");
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await.status, 200);
    let link = env.latest_link(&address).await;

    // WHEN a mail scanner (or the user) opens the link
    let page = env.open_link(&link, false).await;

    // THEN a page with one button shows, and nothing is confirmed yet
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    assert!(!page.text.contains("<script"), "{}", page.text);
    assert_eq!(profile(&env, &auth).await["emailVerified"], false);

    // WHEN the button is pressed
    let pressed = env.press_link_button(&link).await;

    // THEN the address is confirmed
    assert_eq!(pressed.status, 200, "{}", pressed.text);
    assert!(pressed.text.contains("Your email is confirmed"), "{}", pressed.text);
    assert_eq!(profile(&env, &auth).await["email"], json!(address));
}

// Finding 7: a sandbox partner never uses up a live user's sends.

#[tokio::test]
async fn sandbox_requests_for_a_live_users_number_leave_its_limits_alone() {
    // GIVEN a live user, and a sandbox partner asking five resets for the same number
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    for _ in 0..5 {
        env.wait_out_cooldown();
        let answer = env
            .call(Endpoint::PasswordForgot, json!({ "phone": phone }), &[("x-merchant-id", Some(SANDBOX_MERCHANT))])
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    // WHEN the live user asks for a reset code
    env.wait_out_cooldown();
    let live =
        env.call(Endpoint::PasswordForgot, json!({ "phone": phone }), &[("x-merchant-id", Some(MERCHANT))]).await;
    // THEN it is sent
    assert_eq!(live.status, 200, "{:?}", live.body);
    assert!(env.sms_to(&phone).await.last().unwrap().contains("password reset code"));
}

// Finding 8: one streak per account, whichever identifier is guessed at.

#[tokio::test]
async fn failures_by_phone_and_by_email_count_in_one_streak() {
    // GIVEN an account with a phone and a confirmed email
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    let email = fresh_email("streak");
    confirmed_email(&env, &auth, &email).await;
    // WHEN five passwords are guessed by phone
    for _ in 0..5 {
        assert_eq!(env.sign_in(&phone, "Wrong-guess-9").await.status, 400);
    }
    // THEN the email is held back as well, even with the right password
    let held = env.sign_in(&email, PASSWORD).await;
    assert_eq!(held.status, 429, "{:?}", held.body);
}

// Finding 11: revoking an access token ends its session (RFC 7009).

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    // GIVEN a signed-in user
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    let tokens = env.sign_in(&phone, PASSWORD).await;
    let access = tokens.body["access_token"].as_str().unwrap();
    // WHEN the app revokes the access token
    assert_eq!(env.revoke(access).await.status, 200);
    // THEN neither the access token nor the session's refresh token works
    assert!(env.authenticate(&bearer(&tokens)).await.is_err());
    assert_eq!(env.refresh(tokens.body["refresh_token"].as_str().unwrap()).await.status, 400);
}
