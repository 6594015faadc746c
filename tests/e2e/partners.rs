//! Partners and abuse controls: the registry, the sandbox, request signatures, per-IP limits, the
//! SMS country allow-list and the daily SMS budget.

use e2e::{Answer, Endpoint, MERCHANT, SANDBOX_MERCHANT, TestEnv, fresh_phone};
use lambda_http::Body;
use registration::admission::signature;
use registration::domain::partner::{PartnerStatus, SigningSecret};
use registration::ports::Clock;
use serde_json::{Value, json};

fn as_partner(merchant: &str) -> [(&'static str, Option<&str>); 1] {
    [("x-merchant-id", Some(merchant))]
}

fn signup_body(phone: &str) -> Value {
    json!({ "phone": phone, "password": "1234Qwerty" })
}

fn claims_of(answer: &Answer) -> Value {
    use base64::Engine;
    let token = answer.body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn unknown_and_disabled_partners_are_refused_before_anything_happens() {
    // GIVEN a partner id nobody registered, and a registered partner that gets disabled
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let stranger = uuid::Uuid::new_v4().to_string();
    // WHEN the stranger signs a user up
    let unknown = env.call(Endpoint::Signup, signup_body(&phone), &as_partner(&stranger)).await;
    // THEN it is a 401 naming the header, and nothing was stored or sent
    assert_eq!(unknown.status, 401, "{:?}", unknown.body);
    assert_eq!(unknown.body["error"], "PARTNER_UNKNOWN");
    assert_eq!(unknown.body["field"], "X-Merchant-ID");
    env.update_partner(MERCHANT, |p| p.status = PartnerStatus::Disabled).await;
    let disabled = env.signup(signup_body(&phone)).await;
    assert_eq!(disabled.status, 403, "{:?}", disabled.body);
    assert_eq!(disabled.body["error"], "PARTNER_DISABLED");
    assert_eq!(env.sms.attempts(), 0);
    assert_eq!(env.accounts_for(&phone).await, 0);
    // AND enabling it again serves the same request
    env.update_partner(MERCHANT, |p| p.status = PartnerStatus::Active).await;
    assert_eq!(env.signup(signup_body(&phone)).await.status, 200);
}

#[tokio::test]
async fn a_sandbox_partner_sends_nothing_and_accepts_12345() {
    // GIVEN a sandbox partner
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let sandbox = as_partner(SANDBOX_MERCHANT);
    // WHEN a user signs up and confirms with 12345
    assert_eq!(env.call(Endpoint::Signup, signup_body(&phone), &sandbox).await.status, 200);
    let wrong = env.call(Endpoint::PhoneConfirm, json!({ "phone": phone, "code": "123456" }), &sandbox).await;
    assert_eq!(wrong.body["error"], "CODE_INVALID");
    let tokens = env.call(Endpoint::PhoneConfirm, json!({ "phone": phone, "code": "12345" }), &sandbox).await;
    // THEN the account is active, no SMS went to SNS, and the tokens say they are sandbox tokens
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["sandbox"], true);
    assert_eq!(claims_of(&tokens)["sandbox"], true);
    assert_eq!(env.sms.attempts(), 0);
    assert!(env.sms_to(&phone).await.is_empty());

    // AND adding an email sends nothing either; the answer carries the link instead
    let bearer = format!("Bearer {}", tokens.body["access_token"].as_str().unwrap());
    let headers = [("x-merchant-id", Some(SANDBOX_MERCHANT)), ("authorization", Some(bearer.as_str()))];
    let added = env.call(Endpoint::EmailAdd, json!({ "email": "sandbox@example.com" }), &headers).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert!(env.emails_to("sandbox@example.com").await.is_empty());
    let link = added.body["sandbox"]["confirmationLink"].as_str().unwrap();
    assert_eq!(env.open_link(link, true).await.status, 200);

    // AND a password reset works with 12345 too (after the per-number cooldown, as for live partners)
    env.clock.advance(60);
    assert_eq!(env.call(Endpoint::PasswordForgot, json!({ "phone": phone }), &sandbox).await.status, 200);
    let reset = json!({ "phone": phone, "code": "12345", "password": "Another-pass-42" });
    assert_eq!(env.call(Endpoint::PasswordReset, reset, &sandbox).await.status, 200);
    assert_eq!(env.sms.attempts(), 0);
}

#[tokio::test]
async fn live_partners_never_accept_the_sandbox_code_or_give_sandbox_tokens() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(signup_body(&phone)).await.status, 200);
    let guess = env.confirm(&phone, "12345").await;
    assert_eq!(guess.body["error"], "CODE_INVALID", "{:?}", guess.body);
    let tokens = env.confirm(&phone, &env.latest_code(&phone).await).await;
    assert_eq!(tokens.status, 200);
    assert!(tokens.body.get("sandbox").is_none());
    assert!(claims_of(&tokens).get("sandbox").is_none());
}

#[tokio::test]
async fn users_and_tokens_of_one_partner_are_invisible_to_another() {
    // GIVEN a user of the sandbox partner
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let sandbox = as_partner(SANDBOX_MERCHANT);
    env.call(Endpoint::Signup, signup_body(&phone), &sandbox).await;
    let tokens = env.call(Endpoint::PhoneConfirm, json!({ "phone": phone, "code": "12345" }), &sandbox).await;
    let bearer = format!("Bearer {}", tokens.body["access_token"].as_str().unwrap());
    let refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    env.authenticate_as(&bearer, SANDBOX_MERCHANT).await.unwrap();

    // WHEN the live partner is named with the sandbox user's token, refresh token and password
    let access = env.authenticate_as(&bearer, MERCHANT).await;
    let refreshed = env.refresh(&refresh).await;
    let signed_in = env.sign_in(&phone, "1234Qwerty").await;
    // THEN none of them works
    assert!(access.is_err());
    assert_eq!(refreshed.body["error"], "invalid_grant", "{:?}", refreshed.body);
    assert_eq!(signed_in.body["error"], "invalid_grant", "{:?}", signed_in.body);

    // AND the other way round: a live user's token is refused under the sandbox partner
    let live_phone = fresh_phone();
    let live = env.registered(&live_phone, "1234Qwerty").await;
    let live_bearer = format!("Bearer {}", live.body["access_token"].as_str().unwrap());
    env.authenticate_as(&live_bearer, MERCHANT).await.unwrap();
    assert!(env.authenticate_as(&live_bearer, SANDBOX_MERCHANT).await.is_err());
    let sandbox_sign_in = env.call(
        Endpoint::Token,
        json!({ "grant_type": "password", "username": live_phone, "password": "1234Qwerty" }),
        &sandbox,
    );
    assert_eq!(sandbox_sign_in.await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_partner_with_a_secret_must_sign_every_request() {
    // GIVEN the partner has a signing secret
    let env = &TestEnv::new().await;
    let secret = SigningSecret::generate();
    let stored = secret.clone();
    env.update_partner(MERCHANT, move |p| p.signing_secret = Some(stored)).await;
    let now = env.clock.now();
    let body = signup_body(&fresh_phone()).to_string();
    let send = |header: Option<String>| {
        let body = body.clone();
        async move {
            let headers = [("x-signature", header.as_deref())];
            env.call_raw(Endpoint::Signup, Body::Text(body), &headers).await
        }
    };
    let sign = |at: i64, secret: &SigningSecret, body: &str| {
        signature::sign(secret, at, "POST", "/v2/mobile/signup", body.as_bytes())
    };

    // WHEN requests come unsigned, stale, from the future, with another key or over another body
    let refusals = [
        ("missing", send(None).await),
        ("stale", send(Some(sign(now - 301, &secret, &body))).await),
        ("future", send(Some(sign(now + 301, &secret, &body))).await),
        ("wrong key", send(Some(sign(now, &SigningSecret::generate(), &body))).await),
        ("other body", send(Some(sign(now, &secret, "{}"))).await),
        ("garbage", send(Some("t=abc,v1=zz".to_owned())).await),
    ];
    // THEN each is a 401 naming X-Signature, and nothing was sent
    for (case, answer) in &refusals {
        assert_eq!(answer.status, 401, "{case}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "SIGNATURE_INVALID", "{case}");
        assert_eq!(answer.body["field"], "X-Signature", "{case}");
    }
    assert_eq!(env.sms.attempts(), 0);
    // AND a valid signature made four minutes ago passes
    let valid = send(Some(sign(now - 240, &secret, &body))).await;
    assert_eq!(valid.status, 200, "{:?}", valid.body);
    assert_eq!(env.sms.attempts(), 1);
}

#[tokio::test]
async fn the_per_ip_limit_trips_with_429_and_resets_after_its_window() {
    // GIVEN one client that used up its 30 verifications for this window
    let env = &TestEnv::new().await;
    let known = fresh_phone();
    env.signup(signup_body(&known)).await;
    let attempt = |ip: &'static str, phone: String| {
        let body = json!({ "phone": phone, "code": "000000" }).to_string();
        async move { env.call_from(Some(ip), Endpoint::PhoneConfirm, Body::Text(body), &[]).await }
    };
    for _ in 0..30 {
        assert_ne!(attempt("198.51.100.1", fresh_phone()).await.status, 429);
    }
    // WHEN it tries again, with an unknown and with a known number
    let unknown = attempt("198.51.100.1", fresh_phone()).await;
    let with_known = attempt("198.51.100.1", known.clone()).await;
    // THEN both are the same 429, with Retry-After and data.retryAfter
    assert_eq!(unknown.status, 429, "{:?}", unknown.body);
    assert_eq!(unknown.body, with_known.body);
    assert_eq!(unknown.body["error"], "TOO_MANY_REQUESTS");
    let retry_after = unknown.body["data"]["retryAfter"].as_i64().unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    assert_eq!(unknown.headers["retry-after"], retry_after.to_string().as_str());
    // AND another client is not held back, nor are other kinds of request
    assert_ne!(attempt("198.51.100.2", fresh_phone()).await.status, 429);
    let forgot = env.call_from(
        Some("198.51.100.1"),
        Endpoint::PasswordForgot,
        Body::Text(json!({ "phone": fresh_phone() }).to_string()),
        &[],
    );
    assert_eq!(forgot.await.status, 200);
    // AND once the window has passed, the client is served again
    env.clock.advance(retry_after);
    assert_ne!(attempt("198.51.100.1", fresh_phone()).await.status, 429);
}

#[tokio::test]
async fn a_number_outside_the_partners_countries_is_refused_before_any_sms() {
    // GIVEN a partner that sends SMS to GB, IE, FR and US only
    let env = TestEnv::new().await;
    let german = "+4915112345678";
    // WHEN a German number signs up, asks for a resend or a reset
    for endpoint in [Endpoint::Signup, Endpoint::PhoneResend, Endpoint::PasswordForgot] {
        let answer = env.call(endpoint, signup_body(german), &[]).await;
        // THEN a clear 400 names the phone and the allowed countries
        assert_eq!(answer.status, 400, "{endpoint:?}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "SMS_COUNTRY_NOT_ALLOWED");
        assert_eq!(answer.body["field"], "phone");
        assert_eq!(answer.body["data"]["allowedCountries"], json!(["GB", "IE", "FR", "US"]));
    }
    // AND SNS was never called and nothing was stored
    assert_eq!(env.sms.attempts(), 0);
    assert_eq!(env.accounts_for(german).await, 0);
    // AND adding the country lets the same number through
    env.update_partner(MERCHANT, |p| {
        p.sms_countries.push(registration::domain::partner::CountryCode::parse("DE").unwrap())
    })
    .await;
    assert_eq!(env.signup(signup_body(german)).await.status, 200);
    assert_eq!(env.sms.attempts(), 1);
}

#[tokio::test]
async fn the_daily_budget_stops_sms_until_the_next_day() {
    // GIVEN a partner whose budget is two SMS a day
    let env = TestEnv::new().await;
    env.update_partner(MERCHANT, |p| p.daily_sms_budget = 2).await;
    let phones: Vec<String> = (0..3).map(|_| fresh_phone()).collect();
    // WHEN three new users sign up
    let first = env.signup(signup_body(&phones[0])).await;
    let second = env.signup(signup_body(&phones[1])).await;
    let third = env.signup(signup_body(&phones[2])).await;
    // THEN two get a code; the third is told to retry later, gets no SMS and leaves nothing behind
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(third.status, 429, "{:?}", third.body);
    assert_eq!(third.body["error"], "SMS_BUDGET_EXHAUSTED");
    let retry_after = third.body["data"]["retryAfter"].as_i64().unwrap();
    assert!((1..=86_400).contains(&retry_after));
    assert_eq!(env.sms.attempts(), 2);
    assert!(env.sms_to(&phones[2]).await.is_empty());
    assert_eq!(env.accounts_for(&phones[2]).await, 0);
    // AND a reset for an unknown number is refused alike, so the budget says nothing about who exists
    let forgot = env.forgot(&fresh_phone()).await;
    assert_eq!(forgot.body["error"], "SMS_BUDGET_EXHAUSTED");
    // AND the next UTC day the budget is fresh
    env.clock.advance(retry_after);
    assert_eq!(env.signup(signup_body(&phones[2])).await.status, 200);
    assert_eq!(env.sms_to(&phones[2]).await.len(), 1);
    // AND a budget of 0 sends nothing at all, not even a first SMS of the day
    env.update_partner(MERCHANT, |p| p.daily_sms_budget = 0).await;
    env.clock.advance(86_400);
    assert_eq!(env.signup(signup_body(&fresh_phone())).await.body["error"], "SMS_BUDGET_EXHAUSTED");
}

#[tokio::test]
async fn a_backend_partner_has_each_end_user_counted_apart_by_the_address_its_signature_covers() {
    // GIVEN a partner that calls from one backend address and forwards its users' addresses
    let env = &TestEnv::new().await;
    let secret = SigningSecret::generate();
    let stored = secret.clone();
    env.update_partner(MERCHANT, move |p| {
        p.signing_secret = Some(stored);
        p.forwards_end_user_address = true;
    })
    .await;
    let attempt = |sent: &'static str, signed: &'static str| {
        let body = json!({ "phone": fresh_phone(), "code": "000000" }).to_string();
        let request = signature::Signed {
            method: "POST",
            path_and_query: "/v2/mobile/phone/confirm",
            body: body.as_bytes(),
            end_user: Some(signed),
        };
        let header = signature::sign_request(&secret, env.clock.now(), &request);
        async move {
            let headers = [("x-signature", Some(header.as_str())), ("x-end-user-address", Some(sent))];
            env.call_from(Some("192.0.2.50"), Endpoint::PhoneConfirm, Body::Text(body), &headers).await
        }
    };

    // WHEN one end user uses up its 30 verifications of the window
    for _ in 0..30 {
        assert_ne!(attempt("198.51.100.7", "198.51.100.7").await.status, 429);
    }
    // THEN its next is a 429, while another user behind the same backend is served
    assert_eq!(attempt("198.51.100.7", "198.51.100.7").await.status, 429);
    assert_ne!(attempt("198.51.100.8", "198.51.100.8").await.status, 429);

    // AND an address the signature does not cover, or one that is no address, is refused
    for (sent, signed) in [("198.51.100.9", "198.51.100.8"), ("not-an-address", "not-an-address")] {
        let refused = attempt(sent, signed).await;
        assert_eq!(refused.status, 401, "{sent}: {:?}", refused.body);
        assert_eq!(refused.body["error"], "SIGNATURE_INVALID");
    }
    // AND a partner not set to forward addresses has the header refused, not silently ignored
    env.update_partner(MERCHANT, |p| p.forwards_end_user_address = false).await;
    assert_eq!(attempt("198.51.100.8", "198.51.100.8").await.status, 401);
}
