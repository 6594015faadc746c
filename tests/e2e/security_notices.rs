//! The owner is told, on the account's confirmed phone and address, when its password, phone or
//! email changes, and (if the partner asks) when it is signed in to from a new device. A notice
//! carries no code or link, is not held up by the code cooldown, and never blocks what caused it.

use std::sync::Arc;

use e2e::{Answer, Endpoint, MERCHANT, TestEnv, bearer, extract_code, fresh_email, fresh_phone, in_parallel};
use serde_json::json;

const PASSWORD: &str = "Willow-Badger-35";

/// A phone account with a confirmed email address; its token response.
async fn account_with_email(env: &TestEnv, phone: &str, email: &str) -> Answer {
    let tokens = env.registered(phone, PASSWORD).await;
    let added = env.as_user(Endpoint::EmailAdd, &bearer(&tokens), json!({ "email": email })).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    tokens
}

/// No run of five or more digits (a code has six, a sandbox code five; a year has four) and no link.
fn carries_no_secret(text: &str) {
    let longest = text.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
    assert!(longest < 5, "{text}");
    assert!(!text.contains("http") && !text.contains("href"), "{text}");
}

/// What a person reads in an HTML email: the text between the tags (styles and links left out).
fn visible_text(html: &str) -> String {
    assert!(!html.contains("href"), "{html}");
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[tokio::test]
async fn a_password_change_is_told_to_the_phone_and_the_address_at_once_even_inside_the_code_cooldown() {
    // GIVEN an account with a confirmed phone and address, whose phone just got a code
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    let auth = bearer(&account_with_email(&env, &phone, &email).await);
    let sms_before = env.sms_to(&phone).await.len();

    // WHEN the password is changed, seconds after the code (a code now would wait out the cooldown)
    let body = json!({ "oldPassword": PASSWORD, "newPassword": "Changed-Pass-88" });
    assert_eq!(env.as_user(Endpoint::PasswordChange, &auth, body).await.status, 200);

    // THEN the phone and the address were each told once, with no code or link
    let sms = env.sms_to(&phone).await;
    assert_eq!(sms.len(), sms_before + 1);
    let notice = sms.last().unwrap();
    assert!(notice.starts_with("Your password was changed on "), "{notice}");
    assert!(notice.contains("UTC") && notice.contains("If this was not you"), "{notice}");
    carries_no_secret(notice);
    let (subject, html) = env.emails_to(&email.to_lowercase()).await.last().cloned().unwrap();
    assert_eq!(subject, "Your password was changed");
    // The address itself (random hex in these tests) is the one thing with digits it may show.
    carries_no_secret(&visible_text(&html).replace(&email.to_lowercase(), "the address"));
    assert!(extract_code(&subject).is_none());
}

#[tokio::test]
async fn a_notice_that_cannot_be_sent_never_holds_back_the_change() {
    // GIVEN an account, and an SMS provider that is down
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    env.sms.fail(true);
    let tries_before = env.sms.attempts();

    // WHEN the password is changed
    let body = json!({ "oldPassword": PASSWORD, "newPassword": "Changed-Pass-88" });
    let changed = env.as_user(Endpoint::PasswordChange, &auth, body).await;

    // THEN the notice was tried (and failed), and the change is done all the same
    env.sms.fail(false);
    assert_eq!(env.sms.attempts(), tries_before + 1);
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(env.sign_in(&phone, "Changed-Pass-88").await.status, 200);
}

#[tokio::test]
async fn a_reset_is_told_to_every_confirmed_channel() {
    // GIVEN an account with a confirmed phone and address
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    account_with_email(&env, &phone, &email).await;
    env.wait_out_cooldown();

    // WHEN it resets its password by SMS
    env.forgot(&phone).await;
    assert_eq!(env.reset(&phone, &env.latest_code(&phone).await, "Changed-Pass-88").await.status, 200);

    // THEN both channels were told
    let notice = env.sms_to(&phone).await.last().cloned().unwrap();
    assert!(notice.starts_with("Your password was reset"), "{notice}");
    carries_no_secret(&notice);
    assert_eq!(env.emails_to(&email.to_lowercase()).await.last().unwrap().0, "Your password was reset");
}

#[tokio::test]
async fn an_email_change_is_told_to_the_old_address_not_the_new_one() {
    // GIVEN an account with a confirmed address
    let env = TestEnv::new().await;
    let (phone, old, new) = (fresh_phone(), fresh_email(), fresh_email());
    let auth = bearer(&account_with_email(&env, &phone, &old).await);

    // WHEN a new address is added and its link followed
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": new })).await;
    assert_eq!(env.press_link_button(&env.latest_link(&new.to_lowercase()).await).await.status, 200);

    // THEN the old address was told (naming the new one masked); the new one got only its link
    let (subject, html) = env.emails_to(&old.to_lowercase()).await.last().cloned().unwrap();
    assert_eq!(subject, "Your email address was changed");
    assert!(html.contains("f…@example.com"), "{html}");
    assert!(!html.contains(&new.to_lowercase()), "{html}");
    carries_no_secret(&visible_text(&html).replace(&old.to_lowercase(), "the address"));
    let to_new = env.emails_to(&new.to_lowercase()).await;
    assert_eq!(to_new.len(), 1);
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_told_only_when_the_partner_asks_and_only_once_per_device() {
    // GIVEN an account that signed up from one device
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    let sign_in_from = |device: &'static str| {
        let body = json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
        let env = &env;
        async move { env.call(Endpoint::Token, body, &[("x-fingerprint", Some(device))]).await }
    };

    // WHEN it signs in from a new device while the partner has notices off (the default)
    let before = env.sms_to(&phone).await.len();
    assert_eq!(sign_in_from("tablet-1").await.status, 200);
    // THEN nobody is told
    assert_eq!(env.sms_to(&phone).await.len(), before);

    // WHEN the partner turns them on and the account signs in from another new device, then again
    env.update_partner(MERCHANT, |p| p.new_device_notices = true).await;
    assert_eq!(sign_in_from("laptop-2").await.status, 200);
    assert_eq!(sign_in_from("laptop-2").await.status, 200);
    assert_eq!(sign_in_from("tablet-1").await.status, 200);

    // THEN one notice, for the first sign-in from the laptop only
    let sms = env.sms_to(&phone).await;
    assert_eq!(sms.len(), before + 1, "{sms:?}");
    assert!(sms.last().unwrap().starts_with("New sign-in to your account"), "{:?}", sms.last());
    carries_no_secret(sms.last().unwrap());
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_told_to_the_confirmed_address_too() {
    // GIVEN an account with a confirmed address, at a partner that asks for new-device notices
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    account_with_email(&env, &phone, &email).await;
    env.update_partner(MERCHANT, |p| p.new_device_notices = true).await;

    // WHEN it signs in from a device it never used
    let body = json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
    let signed_in = env.call(Endpoint::Token, body, &[("x-fingerprint", Some("watch-3"))]).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);

    // THEN the address is told too, with nothing in the mail that signs anyone in
    let emails = env.emails_to(&email.to_lowercase()).await;
    let (subject, html) = emails.last().expect("a notice by email");
    assert_eq!(subject, "New sign-in to your account");
    carries_no_secret(&visible_text(html).replace(&email.to_lowercase(), "the address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_sign_ins_from_one_new_device_tell_the_owner_once() {
    // GIVEN an account at a partner that asks for new-device notices
    let env = Arc::new(TestEnv::new().await);
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    env.update_partner(MERCHANT, |p| p.new_device_notices = true).await;
    let mut told_twice = 0;
    for trial in 0..8 {
        let before = env.sms_to(&phone).await.len();

        // WHEN two copies of the function sign it in at once from a device it never used
        let device = format!("new-phone-{trial}");
        let sign_ins = (0..2)
            .map(|_| {
                let (env, phone, device) = (env.clone(), phone.clone(), device.clone());
                async move {
                    let body = json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
                    env.call(Endpoint::Token, body, &[("x-fingerprint", Some(device.as_str()))]).await
                }
            })
            .collect();
        let answers = in_parallel(sign_ins).await;

        // THEN both sign in, and the owner is told once
        assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
        let told = env.sms_to(&phone).await.len() - before;
        assert!(told >= 1, "trial {trial}: nobody was told");
        told_twice += usize::from(told > 1);
        // (a day later, so the notice cap of the day never decides it)
        env.clock.advance(24 * 3600);
    }
    assert_eq!(told_twice, 0, "trials in which the owner was told twice");
}
