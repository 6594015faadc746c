//! Email address and personal details: add, confirm by link, resend; KYC_0.

use e2e::{Endpoint, TestEnv, bearer, fresh_phone};
use futures::future::join;
use registration::handlers::EMAIL_LINK_TTL_SECS;
use serde_json::{Value, json};

const PASSWORD: &str = "Profile-pass-9";

/// A unique address per test, in a case the service must normalise.
fn fresh_email(name: &str) -> String {
    format!("{name}.{}@Example.COM", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

fn complete_details() -> Value {
    json!({
        "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "pt",
        "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"
    })
}

async fn profile(env: &TestEnv, auth: &str) -> Value {
    let answer = env.as_user(Endpoint::ProfileGet, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

#[tokio::test]
async fn sign_up_confirm_phone_add_and_confirm_email_fill_profile_reach_kyc_0() {
    // GIVEN a user who signed up and confirmed the phone
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    assert_eq!(profile(&env, &auth).await["kycLevel"], "NONE");

    // WHEN they add an email address
    let address = fresh_email("ana");
    let added = env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await;
    assert_eq!((added.status, &added.body), (200, &json!({ "result": "ok" })));

    // THEN moto holds an email with both parts' link, to the normalised address
    let normalised = address.to_lowercase();
    let emails = env.emails_to(&normalised).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].0, "Confirm your email address");
    let link = env.latest_link(&normalised).await;
    assert!(link.starts_with("https://registration.test/v2/mobile/email/confirm?token="), "{link}");
    let pending = profile(&env, &auth).await;
    assert_eq!((pending["emailVerified"].clone(), pending["pendingEmail"].clone()), (json!(false), json!(normalised)));

    // WHEN they follow the link and press its button
    let page = env.open_link(&link, false).await;
    assert!(page.text.contains("Confirm my email address"), "{}", page.text);
    let page = env.press_link_button(&link).await;
    assert_eq!(page.status, 200);
    let token = link.rsplit_once("token=").unwrap().1;
    assert!(!e2e::logs::text().contains(token), "the link token reached the logs");
    assert!(page.text.contains("Your email is confirmed"), "{}", page.text);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");

    // AND fill in their details
    let updated = env.as_user(Endpoint::ProfileUpdate, &auth, complete_details()).await;
    assert_eq!(updated.status, 204, "{:?}", updated.text);
    assert!(updated.text.is_empty());

    // THEN the profile is KYC_0, with everything they gave
    let body = profile(&env, &auth).await;
    assert_eq!(body["kycLevel"], "KYC_0");
    assert_eq!(body["email"], normalised);
    assert_eq!(body["emailVerified"], true);
    assert_eq!(body["phone"], phone);
    assert_eq!(body["phoneVerified"], true);
    assert_eq!(body["country"], "PT");
    assert_eq!(body["postalCode"], "4050-262");
    assert!(body["userId"].as_str().unwrap().starts_with("usr:"));
    assert!(body["pendingEmail"].is_null());
}

#[tokio::test]
async fn details_first_then_email_also_reaches_kyc_0() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    assert_eq!(env.as_user(Endpoint::ProfileUpdate, &auth, complete_details()).await.status, 204);
    assert_eq!(profile(&env, &auth).await["kycLevel"], "NONE", "no confirmed email yet");
    let address = fresh_email("late").to_lowercase();
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await;
    env.open_link(&env.latest_link(&address).await, true).await;
    assert_eq!(profile(&env, &auth).await["kycLevel"], "KYC_0");
}

#[tokio::test]
async fn a_confirmed_email_stays_until_the_new_one_is_confirmed() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let first = fresh_email("first").to_lowercase();
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": first })).await;
    assert_eq!(env.open_link(&env.latest_link(&first).await, true).await.status, 200);

    let second = fresh_email("second").to_lowercase();
    env.wait_out_cooldown();
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": second })).await.status, 200);
    let body = profile(&env, &auth).await;
    assert_eq!((body["email"].clone(), body["pendingEmail"].clone()), (json!(first), json!(second)));
    assert_eq!(body["emailVerified"], true);

    assert_eq!(env.open_link(&env.latest_link(&second).await, true).await.status, 200);
    let body = profile(&env, &auth).await;
    assert_eq!((body["email"].clone(), body["pendingEmail"].clone()), (json!(second), Value::Null));

    // The first address is free again for another account.
    let other = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    env.wait_out_cooldown();
    env.as_user(Endpoint::EmailAdd, &other, json!({ "email": first })).await;
    assert_eq!(env.open_link(&env.latest_link(&first).await, true).await.status, 200);
}

#[tokio::test]
async fn an_address_owned_by_another_account_answers_alike_and_reveals_nothing() {
    // GIVEN an address confirmed by one account
    let env = TestEnv::new().await;
    let owner = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let address = fresh_email("owned").to_lowercase();
    env.as_user(Endpoint::EmailAdd, &owner, json!({ "email": address })).await;
    env.open_link(&env.latest_link(&address).await, true).await;
    let other = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    env.wait_out_cooldown();

    // WHEN another account adds it, in another case, and adds a fresh address
    let taken = env.as_user(Endpoint::EmailAdd, &other, json!({ "email": address.to_uppercase() })).await;
    env.wait_out_cooldown();
    let free = env.as_user(Endpoint::EmailAdd, &other, json!({ "email": fresh_email("free") })).await;

    // THEN both answers are the same
    assert_eq!((taken.status, &taken.body, &taken.headers), (free.status, &free.body, &free.headers));
    // AND the owner's mailbox got a notice without a link; the address is not pending anywhere
    let emails = env.emails_to(&address).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1].0, "Your email address was entered elsewhere");
    assert!(e2e::extract_link(&emails[1].1).is_none());
    assert_ne!(profile(&env, &other).await["pendingEmail"], json!(address));
}

#[tokio::test]
async fn resend_sends_a_new_link_kills_the_old_one_and_keeps_the_cooldown() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let address = fresh_email("resend").to_lowercase();
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await;
    let old = env.latest_link(&address).await;

    let early = env.as_user(Endpoint::EmailResend, &auth, Value::Null).await;
    assert_eq!(early.status, 429, "{:?}", early.body);
    assert_eq!(early.body["data"]["retryAfter"], 60);

    env.clock.advance(60);
    assert_eq!(env.as_user(Endpoint::EmailResend, &auth, Value::Null).await.status, 200);
    let new = env.latest_link(&address).await;
    assert_ne!(old, new);
    let dead = env.open_link(&old, true).await;
    assert_eq!((dead.status, &dead.body["error"]), (400, &json!("LINK_INVALID")));
    assert_eq!(env.open_link(&new, true).await.status, 200);

    // Nothing pending any more: resend says so.
    env.clock.advance(60);
    let nothing = env.as_user(Endpoint::EmailResend, &auth, Value::Null).await;
    assert_eq!((nothing.status, &nothing.body["data"]["rule"]), (400, &json!("no_pending_email")));
}

#[tokio::test]
async fn bad_expired_and_reused_links_are_clear_4xx_pages_never_5xx() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    let address = fresh_email("links").to_lowercase();
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await;
    let link = env.latest_link(&address).await;

    for bad in ["", "not-a-token", &"x".repeat(5000), "%00%ff"] {
        let page = env.open_link(&format!("?token={bad}"), false).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.text.contains("This link is not valid"));
    }
    let mut no_token = Endpoint::EmailConfirm.event();
    *no_token.uri_mut() = "/v2/mobile/email/confirm".parse().unwrap();
    let missing = registration::handlers::email_confirm::handle(&env.app, &env.mailer, no_token).await.unwrap();
    assert_eq!(missing.status(), 400);

    env.clock.advance(EMAIL_LINK_TTL_SECS);
    let expired = env.open_link(&link, false).await;
    assert_eq!(expired.status, 400);
    assert!(expired.text.contains("This link has expired"));
    let expired_json = env.open_link(&link, true).await;
    assert_eq!(expired_json.body["error"], "LINK_EXPIRED");

    // A fresh link works once; opening it again says the address is confirmed. (A day has passed:
    // the user signs in again for a new access token.)
    let auth = bearer(&env.sign_in(&phone, PASSWORD).await);
    let resent = env.as_user(Endpoint::EmailResend, &auth, Value::Null).await;
    assert_eq!(resent.status, 200, "{:?}", resent.body);
    let fresh = env.latest_link(&address).await;
    let opened = env.press_link_button(&fresh).await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert!(opened.text.contains("Your email is confirmed"), "{}", opened.text);
    let again = env.open_link(&fresh, false).await;
    assert_eq!(again.status, 200);
    assert!(again.text.contains("already confirmed"));
}

#[tokio::test]
async fn a_failed_email_send_leaves_nothing_that_blocks_a_retry() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    let address = fresh_email("flaky").to_lowercase();
    env.email.fail(true);
    let failed = env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await;
    assert_eq!((failed.status, &failed.body["error"]), (503, &json!("EMAIL_UNAVAILABLE")));
    env.email.fail(false);
    env.clock.advance(1);
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await.status, 200);
    assert_eq!(env.open_link(&env.latest_link(&address).await, true).await.status, 200);
}

#[tokio::test]
async fn bad_input_and_bad_tokens_are_4xx_envelopes() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    for (endpoint, body, status, field) in [
        (Endpoint::EmailAdd, json!({ "email": "not-an-email" }), 400, "email"),
        (Endpoint::EmailAdd, json!({ "email": 42 }), 400, "email"),
        (Endpoint::ProfileUpdate, json!({ "birthDate": "1990-02-30" }), 400, "birthDate"),
        (Endpoint::ProfileUpdate, json!({ "birthDate": "2999-01-01" }), 400, "birthDate"),
        (Endpoint::ProfileUpdate, json!({ "country": "XX" }), 400, "country"),
        (Endpoint::ProfileUpdate, json!({ "country": "GBR" }), 400, "country"),
        (Endpoint::ProfileUpdate, json!({ "kycLevel": "KYC_0" }), 400, "kycLevel"),
        (Endpoint::ProfileUpdate, json!({ "emailVerified": true }), 400, "emailVerified"),
        (Endpoint::ProfileUpdate, json!({ "userId": "usr:x" }), 400, "userId"),
        (Endpoint::ProfileUpdate, json!({ "firstName": 7 }), 400, "firstName"),
    ] {
        let answer = env.as_user(endpoint, &auth, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {:?}", answer.body);
        assert_eq!(answer.body["field"], field, "{body}");
        assert_eq!(answer.body["systemId"], "registration");
    }
    assert_eq!(profile(&env, &auth).await["kycLevel"], "NONE", "nothing was written");

    for endpoint in [Endpoint::EmailAdd, Endpoint::EmailResend, Endpoint::ProfileUpdate, Endpoint::ProfileGet] {
        let missing = env.call(endpoint, json!({ "email": "a@example.com" }), &[]).await;
        let forged = env.as_user(endpoint, "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", json!({})).await;
        for answer in [missing, forged] {
            assert_eq!(answer.status, 401, "{endpoint:?}: {:?}", answer.body);
            assert_eq!(answer.body["error"], "UNAUTHORIZED");
        }
    }
}

#[tokio::test]
async fn concurrent_profile_updates_keep_each_others_fields() {
    let env = TestEnv::new().await;
    let auth = bearer(&env.registered(&fresh_phone(), PASSWORD).await);
    for round in 0..5 {
        let first = format!("Name{}", "a".repeat(round + 1));
        let city = format!("City{}", "b".repeat(round + 1));
        let (a, b) = join(
            env.as_user(Endpoint::ProfileUpdate, &auth, json!({ "firstName": first })),
            env.as_user(Endpoint::ProfileUpdate, &auth, json!({ "city": city })),
        )
        .await;
        assert_eq!((a.status, b.status), (204, 204), "{:?} {:?}", a.text, b.text);
        let body = profile(&env, &auth).await;
        assert_eq!((body["firstName"].clone(), body["city"].clone()), (json!(first), json!(city)));
    }
}
