//! Email-first registration (seed 003): a code by email, then the same call with the code creates
//! the account; adding a phone to it; signing in with the address.

use e2e::{
    Answer, Endpoint, SANDBOX_MERCHANT, SEED_003_MERCHANT, TestEnv, bearer, extract_code, fresh_email, fresh_phone,
};
use registration::handlers::EMAIL_CODE_TTL_SECS;
use serde_json::{Value, json};

/// The seed 003 example password: meets the seed 003 policy.
const PASSWORD: &str = "A9#bL8@z";

async fn step(env: &TestEnv, merchant: &str, body: Value) -> Answer {
    env.call(Endpoint::SignupEmail, body, &[("x-merchant-id", Some(merchant))]).await
}

async fn ask_code(env: &TestEnv, email: &str) -> Answer {
    step(env, SEED_003_MERCHANT, json!({ "userType": "CUSTOMER", "email": email, "password": PASSWORD })).await
}

async fn confirm(env: &TestEnv, email: &str, code: &str) -> Answer {
    let body = json!({ "userType": "CUSTOMER", "email": email, "password": PASSWORD, "emailConfirmCode": code });
    step(env, SEED_003_MERCHANT, body).await
}

/// Signs up `email` in both steps; the token response.
async fn email_account(env: &TestEnv, email: &str) -> Answer {
    assert_eq!(ask_code(env, email).await.status, 200);
    let tokens = confirm(env, email, &env.emailed_code(email).await).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    tokens
}

async fn profile(env: &TestEnv, auth: &str) -> Value {
    let headers = [("authorization", Some(auth)), ("x-merchant-id", Some(SEED_003_MERCHANT))];
    let answer = env.call(Endpoint::ProfileGet, Value::Null, &headers).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

#[tokio::test]
async fn both_steps_create_an_account_with_its_email_confirmed() {
    // GIVEN an address no account has
    let env = TestEnv::new().await;
    let email = fresh_email();

    // WHEN the app asks for a code
    let first = ask_code(&env, &email).await;

    // THEN the answer is `{}` and the normalised address got a 6-digit code
    assert_eq!((first.status, &first.body), (200, &json!({})));
    let code = env.emailed_code(&email).await;
    assert_eq!(code.len(), 6);
    let (_, html) = env.emails_to(&email.to_lowercase()).await.pop().unwrap();
    assert!(html.contains(&code));
    assert!(!e2e::logs::mentions(&code), "the code reached the logs");
    assert!(env.items().await.iter().all(|i| i["sk"].as_s().unwrap() != "ACCOUNT"), "no account before the code");

    // WHEN the same call comes back with the code
    let tokens = confirm(&env, &email, &code).await;

    // THEN it answers the seed 003 token response
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 900);
    assert_eq!(tokens.body["scope"], registration::security::tokens::DEFAULT_SCOPE);
    assert!(tokens.body["user_id"].as_str().unwrap().starts_with("usr:"));
    assert!(tokens.body["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    // AND the account has its address confirmed and no phone yet
    let me = profile(&env, &bearer(&tokens)).await;
    assert_eq!(me["email"], email.to_lowercase());
    assert_eq!((me["emailVerified"].clone(), me["phoneVerified"].clone()), (json!(true), json!(false)));
    assert!(me["phone"].is_null());
    assert_eq!(me["userId"], tokens.body["user_id"]);
    // AND the code is used up
    assert_eq!(confirm(&env, &email, &code).await.body["error"], "CODE_EXPIRED");
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    // GIVEN a code sent to an address
    let env = TestEnv::new().await;
    let email = fresh_email();
    ask_code(&env, &email).await;
    let right = env.emailed_code(&email).await;
    let wrong = if right == "000000" { "111111" } else { "000000" };

    // WHEN five wrong codes are tried
    for remaining in (0..5).rev() {
        let answer = confirm(&env, &email, wrong).await;
        assert_eq!((answer.status, answer.body["error"].as_str()), (400, Some("CODE_INVALID")));
        assert_eq!(answer.body["data"]["attemptsRemaining"], remaining);
    }

    // THEN even the right code no longer works, and no account exists
    let late = confirm(&env, &email, &right).await;
    assert_eq!((late.status, late.body["error"].as_str()), (400, Some("CODE_EXPIRED")));
    assert!(env.items().await.iter().all(|i| i["sk"].as_s().unwrap() != "ACCOUNT"));
}

#[tokio::test]
async fn a_code_for_one_email_does_not_confirm_another_and_codes_expire_after_10_minutes() {
    // GIVEN codes sent to two addresses
    let env = TestEnv::new().await;
    let (ana, bob) = (fresh_email(), fresh_email());
    ask_code(&env, &ana).await;
    ask_code(&env, &bob).await;
    let (ana_code, bob_code) = (env.emailed_code(&ana).await, env.emailed_code(&bob).await);

    // WHEN Ana's code is presented for Bob's address
    let crossed = confirm(&env, &bob, &ana_code).await;

    // THEN it does not match (unless both codes happen to be equal, one time in a million)
    if ana_code != bob_code {
        assert_eq!(crossed.body["error"], "CODE_INVALID", "{:?}", crossed.body);
    }
    // AND Bob's own code still works
    assert_eq!(confirm(&env, &bob, &bob_code).await.status, 200);

    // WHEN Ana waits past the 10-minute lifetime
    env.clock.advance(EMAIL_CODE_TTL_SECS);
    let late = confirm(&env, &ana, &ana_code).await;
    assert_eq!((late.status, late.body["error"].as_str()), (400, Some("CODE_EXPIRED")));
}

#[tokio::test]
async fn an_address_with_an_account_gets_the_same_first_answer_and_its_owner_a_notice() {
    // GIVEN an address that has an account
    let env = TestEnv::new().await;
    let taken = fresh_email();
    email_account(&env, &taken).await;
    let fresh = fresh_email();
    env.wait_out_cooldown();

    // WHEN someone asks for a code for it, and for a new address
    let again = ask_code(&env, &taken).await;
    let new = ask_code(&env, &fresh).await;

    // THEN both answers are byte for byte the same
    assert_eq!((again.status, &again.text), (new.status, &new.text));
    // AND the owner got a notice without a code, so no second account can be made
    let emails = env.emails_to(&taken.to_lowercase()).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1].0, "Someone tried to create an account with your email address");
    assert!(extract_code(&emails[1].0).is_none());
    // AND a guessed code is refused the way it is for a new address (a decoy stands in for the
    // code), and makes no second account
    let second = confirm(&env, &taken, "123456").await;
    assert_eq!(
        (second.body["error"].clone(), second.body["data"]["attemptsRemaining"].clone()),
        (json!("CODE_INVALID"), json!(4))
    );
    let accounts = env.items().await.into_iter().filter(|i| i["sk"].as_s().unwrap() == "ACCOUNT").count();
    assert_eq!(accounts, 1);
    // AND a quick repeat is held back the same way for both
    let (held, held_new) = (ask_code(&env, &taken).await, ask_code(&env, &fresh).await);
    assert_eq!((held.status, held.body["error"].clone()), (held_new.status, held_new.body["error"].clone()));
    assert_eq!(held.status, 429);
}

#[tokio::test]
async fn the_partners_password_policy_and_the_user_type_are_checked_before_any_code() {
    let env = TestEnv::new().await;
    let email = fresh_email();
    // Seed 000's policy would take it; seed 003's wants upper case and a symbol.
    let weak = step(&env, SEED_003_MERCHANT, json!({ "email": email, "password": "lowercase1" })).await;
    assert_eq!((weak.status, weak.body["field"].as_str()), (400, Some("password")), "{:?}", weak.body);
    let rules = weak.body["data"]["rules"].as_array().unwrap();
    assert!(rules.contains(&json!("uppercase")) && rules.contains(&json!("symbol")), "{rules:?}");
    let admin =
        step(&env, SEED_003_MERCHANT, json!({ "email": email, "password": PASSWORD, "userType": "ADMIN" })).await;
    assert_eq!((admin.status, admin.body["field"].as_str()), (400, Some("userType")));
    let bad = step(&env, SEED_003_MERCHANT, json!({ "email": "not-an-address", "password": PASSWORD })).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("email")));
    assert!(env.emails_to(&email.to_lowercase()).await.is_empty());
    // userType defaults to CUSTOMER.
    let default = step(&env, SEED_003_MERCHANT, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(default.status, 200, "{:?}", default.body);
}

#[tokio::test]
async fn a_sandbox_partner_sends_nothing_and_accepts_12345() {
    // GIVEN a sandbox partner
    let env = TestEnv::new().await;
    let email = fresh_email();
    let body = json!({ "userType": "CUSTOMER", "email": email, "password": PASSWORD });

    // WHEN it runs the seed 003 example
    let first = step(&env, SANDBOX_MERCHANT, body.clone()).await;
    let mut with_code = body;
    with_code["emailConfirmCode"] = json!("12345");
    let tokens = step(&env, SANDBOX_MERCHANT, with_code).await;

    // THEN nothing was mailed and the fixed code made the account
    assert_eq!((first.status, &first.body), (200, &json!({})));
    assert!(env.emails_to(&email.to_lowercase()).await.is_empty());
    assert_eq!(env.email.attempts(), 0);
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["sandbox"], true);

    // AND 12345 does nothing for a live partner
    let live = fresh_email();
    ask_code(&env, &live).await;
    assert_eq!(confirm(&env, &live, "12345").await.body["error"], "CODE_INVALID");
}

#[tokio::test]
async fn an_email_first_account_adds_a_phone_and_reaches_kyc_0() {
    // GIVEN an email-first account
    let env = TestEnv::new().await;
    let auth = bearer(&email_account(&env, &fresh_email()).await);
    let phone = fresh_phone();
    let add = |body: Value| {
        let auth = auth.clone();
        let env = &env;
        async move {
            env.call(
                Endpoint::PhoneAdd,
                body,
                &[("authorization", Some(&auth)), ("x-merchant-id", Some(SEED_003_MERCHANT))],
            )
            .await
        }
    };

    // WHEN it adds a phone and confirms the SMS code
    let sent = add(json!({ "phone": phone })).await;
    assert_eq!((sent.status, &sent.body), (200, &json!({ "result": "ok" })), "{:?}", sent.body);
    let code = env.latest_code(&phone).await;
    let wrong = add(json!({ "phone": phone, "code": if code == "000000" { "111111" } else { "000000" } })).await;
    assert_eq!(wrong.body["data"]["attemptsRemaining"], 4);
    let confirmed = add(json!({ "phone": phone, "code": code })).await;

    // THEN the phone is confirmed
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body, json!({ "phone": phone, "phoneVerified": true, "kycLevel": "NONE" }));
    let me = profile(&env, &auth).await;
    assert_eq!((me["phone"].as_str(), me["phoneVerified"].clone()), (Some(phone.as_str()), json!(true)));
    // AND a second phone is refused
    let again = add(json!({ "phone": fresh_phone() })).await;
    assert_eq!((again.status, again.body["error"].as_str()), (409, Some("PHONE_ALREADY_SET")));

    // WHEN the personal details are filled in
    let details = json!({
        "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "pt",
        "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"
    });
    let updated = env
        .call(
            Endpoint::ProfileUpdate,
            details,
            &[("authorization", Some(auth.as_str())), ("x-merchant-id", Some(SEED_003_MERCHANT))],
        )
        .await;
    assert_eq!(updated.status, 204, "{}", updated.text);

    // THEN it is KYC_0, by the same rule as a phone-first account
    assert_eq!(profile(&env, &auth).await["kycLevel"], "KYC_0");
    // AND the phone now signs in too, and its number is taken for signup
    let by_phone = env
        .call(
            Endpoint::Token,
            json!({ "grant_type": "password", "username": phone, "password": PASSWORD }),
            &[("x-merchant-id", Some(SEED_003_MERCHANT))],
        )
        .await;
    assert_eq!(by_phone.status, 200, "{:?}", by_phone.body);
}

#[tokio::test]
async fn a_phone_of_another_account_gets_a_notice_and_cannot_be_taken() {
    // GIVEN a phone-first account (seed 000 partner) and an email-first account of the same partner
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let merchant = e2e::MERCHANT;
    env.registered(&phone, "Owner-pass-9").await;
    let body = json!({ "email": fresh_email(), "password": PASSWORD });
    env.call(Endpoint::SignupEmail, body.clone(), &[]).await;
    let email = body["email"].as_str().unwrap();
    let mut with_code = body.clone();
    with_code["emailConfirmCode"] = json!(env.emailed_code(email).await);
    let tokens = env.call(Endpoint::SignupEmail, with_code, &[]).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    env.wait_out_cooldown();

    // WHEN the email-first account tries to add the other account's phone
    let auth = bearer(&tokens);
    let headers = [("authorization", Some(auth.as_str())), ("x-merchant-id", Some(merchant))];
    let sent = env.call(Endpoint::PhoneAdd, json!({ "phone": phone }), &headers).await;

    // THEN it gets the usual answer, and the owner a notice without a code
    assert_eq!((sent.status, &sent.body), (200, &json!({ "result": "ok" })));
    let last = env.sms_to(&phone).await.pop().unwrap();
    assert!(last.starts_with("Someone tried to add this phone number"), "{last}");
    // AND no code can take it: a guess is refused as for a free phone (a decoy stands in for the code)
    let taken = env.call(Endpoint::PhoneAdd, json!({ "phone": phone, "code": "123456" }), &headers).await;
    assert_eq!(taken.body["error"], "CODE_INVALID");
    let profile = env.call(Endpoint::ProfileGet, Value::Null, &headers).await;
    assert_eq!(profile.body["phone"], Value::Null);
}

#[tokio::test]
async fn an_email_first_account_signs_in_with_its_address() {
    // GIVEN an email-first account
    let env = TestEnv::new().await;
    let email = fresh_email();
    let created = email_account(&env, &email).await;
    let sign_in = |username: String, password: &'static str| {
        let env = &env;
        async move {
            let body = json!({ "grant_type": "password", "username": username, "password": password });
            env.call(Endpoint::Token, body, &[("x-merchant-id", Some(SEED_003_MERCHANT))]).await
        }
    };

    // WHEN it signs in with the address, in another case
    let tokens = sign_in(email.to_uppercase(), PASSWORD).await;

    // THEN it gets tokens for the same user
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["user_id"], created.body["user_id"]);
    // AND a wrong password and an unknown address get the same answer
    let wrong = sign_in(email.clone(), "Wrong#pass9").await;
    let unknown = sign_in(fresh_email(), PASSWORD).await;
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.body["error"], "invalid_grant");
    // AND another partner does not know the address
    let elsewhere = env
        .call(Endpoint::Token, json!({ "grant_type": "password", "username": email, "password": PASSWORD }), &[])
        .await;
    assert_eq!(elsewhere.body["error"], "invalid_grant");
}
