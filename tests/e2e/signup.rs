use e2e::{Answer, TestEnv, fresh_phone};
use futures::future::join_all;
use serde_json::json;

/// Asserts the answer is the plain success every signup gets, whatever the phone's state.
fn assert_plain_ok(answer: &Answer) {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body, json!({ "result": "ok" }));
}

#[tokio::test]
async fn seed_curl_example_signs_up_and_confirms_with_the_sms_code() {
    // GIVEN the seed 002 cURL example
    let env = TestEnv::new().await;
    // WHEN it signs up
    let answer =
        env.signup(json!({ "phone": "+447871234567", "password": "1234Qwerty", "analyticsCallback": "string" })).await;
    // THEN it gets {"result":"ok"} and a 6-digit code by SMS
    assert_plain_ok(&answer);
    let code = env.latest_code("+447871234567").await;
    assert_eq!(env.sms_to("+447871234567").await.len(), 1);

    // WHEN the code is confirmed
    let tokens = env.confirm("+447871234567", &code).await;

    // THEN it gets the seed token response, with an ES256 access token that verifies with the JWK
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 900);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let user_id = tokens.body["user_id"].as_str().unwrap();
    assert!(user_id.starts_with("usr:") && uuid::Uuid::parse_str(&user_id[4..]).is_ok(), "{user_id}");
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    assert!(refresh.len() >= 43, "refresh token carries 256 bits");

    let access = tokens.body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    // signed by the KMS key, whose key id is the kid, and verified by the JWKS the service publishes
    assert_eq!(header.kid.as_deref(), Some(env.issuer.signing_kid()));
    let jwks: serde_json::Value = serde_json::from_str(&env.jwks_document).unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == env.issuer.signing_kid()).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["registration"]);
    validation.set_issuer(&[e2e::ISSUER]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(access, &key, &validation).unwrap().claims;
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["mid"], e2e::MERCHANT);

    // AND the refresh token is stored only as its hash
    let items = format!("{:?}", env.items().await);
    assert!(!items.contains(refresh), "the refresh token itself is in the table");
    assert!(!items.contains(&code), "the code itself is in the table");
    assert!(!items.contains("1234Qwerty"), "the password itself is in the table");
}

#[tokio::test]
async fn every_spelling_of_a_number_is_one_account() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let spaced = format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
    assert_plain_ok(&env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await);
    env.wait_out_cooldown();
    assert_plain_ok(&env.signup(json!({ "phone": spaced, "password": "1234Qwerty" })).await);
    assert_eq!(env.accounts_for(&phone).await, 1);
}

#[tokio::test]
async fn every_password_rule_is_enforced_with_its_rule_name() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let national = &phone[3..];
    for (password, rule) in [
        ("Ab1x".to_owned(), "min_length"),
        ("Correct-Horse-Battery".to_owned(), "digit"),
        ("8302-9917-4410".to_owned(), "letter"),
        (format!("me{national}x"), "phone_number"),
        ("qwerty123".to_owned(), "too_simple"),
        ("aaaa1111".to_owned(), "too_simple"),
        ("Password1".to_owned(), "too_simple"),
        ("a1".repeat(513), "max_length"),
    ] {
        let answer = env.signup(json!({ "phone": phone, "password": password })).await;
        assert_eq!(answer.status, 400, "{password}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "VALIDATION");
        assert_eq!(answer.body["field"], "password");
        assert_eq!(answer.body["data"]["rule"], rule, "{password}");
    }
    assert!(env.sms_to(&phone).await.is_empty(), "a refused signup sends nothing");
    assert_eq!(env.accounts_for(&phone).await, 0);
}

#[tokio::test]
async fn twenty_parallel_signups_for_one_new_phone_leave_exactly_one_account() {
    // GIVEN a phone nobody has used
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    // WHEN twenty signups for it race
    let answers =
        join_all((0..20).map(|i| env.signup(json!({ "phone": phone, "password": format!("Racer-{i}-pass") })))).await;
    // THEN exactly one account exists and one code was sent; the rest were told to wait, none failed
    assert_eq!(env.accounts_for(&phone).await, 1);
    assert_eq!(env.sms_to(&phone).await.len(), 1);
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    let odd: Vec<_> =
        answers.iter().filter(|a| a.status != 200 && a.status != 429).map(|a| (a.status, &a.body)).collect();
    assert!(odd.is_empty(), "{odd:?}");
}

#[tokio::test]
async fn duplicate_signup_cannot_be_told_apart_and_changes_nothing() {
    // GIVEN a confirmed account
    let env = TestEnv::new().await;
    let taken = fresh_phone();
    assert_plain_ok(&env.signup(json!({ "phone": taken, "password": "Owner-pass-1" })).await);
    let code = env.latest_code(&taken).await;
    assert_eq!(env.confirm(&taken, &code).await.status, 200);
    let before = env.accounts(&taken).await;
    env.wait_out_cooldown();

    // WHEN someone signs up with its phone, and someone else with a new phone
    let duplicate = env.signup(json!({ "phone": taken, "password": "Intruder-pass-2" })).await;
    let fresh = env.signup(json!({ "phone": fresh_phone(), "password": "Intruder-pass-2" })).await;

    // THEN both answers are the same, status, body and headers
    assert_plain_ok(&duplicate);
    assert_eq!(duplicate.status, fresh.status);
    assert_eq!(duplicate.body, fresh.body);
    assert_eq!(duplicate.headers, fresh.headers);
    // AND the account is untouched: same password hash, still active, no new code
    assert_eq!(before, env.accounts(&taken).await);
    // AND the owner got a notice, not a code
    let texts = env.sms_to(&taken).await;
    assert_eq!(texts.len(), 2);
    assert!(e2e::extract_code(&texts[1]).is_none(), "{}", texts[1]);
    assert!(texts[1].contains("already has an account"));
}

#[tokio::test]
async fn signup_again_while_pending_replaces_the_password_and_kills_the_old_code() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_plain_ok(&env.signup(json!({ "phone": phone, "password": "First-pass-1" })).await);
    let first_code = env.latest_code(&phone).await;
    let hash_before = password_hash(&env, &phone).await;
    env.wait_out_cooldown();

    assert_plain_ok(&env.signup(json!({ "phone": phone, "password": "Second-pass-2" })).await);
    let second_code = env.latest_code(&phone).await;

    assert_eq!(env.accounts_for(&phone).await, 1);
    assert_ne!(hash_before, password_hash(&env, &phone).await, "the pending password was replaced");
    if first_code != second_code {
        assert_eq!(env.confirm(&phone, &first_code).await.status, 400, "the old code is dead");
    }
    assert_eq!(env.confirm(&phone, &second_code).await.status, 200);
}

#[tokio::test]
async fn a_failed_sms_leaves_nothing_that_blocks_a_retry() {
    // GIVEN SNS failing
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.sms.fail(true);
    // WHEN a user signs up
    let failed = env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await;
    // THEN they are told to retry soon, and nothing was delivered
    assert_eq!(failed.status, 503, "{:?}", failed.body);
    assert_eq!(failed.body["error"], "SMS_UNAVAILABLE");
    assert!(failed.headers.contains_key("retry-after"));
    assert!(env.sms_to(&phone).await.is_empty());

    // WHEN SNS recovers and they retry at once (inside what would be the cooldown)
    env.sms.fail(false);
    env.clock.advance(2);
    let retried = env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await;
    // THEN the retry goes through and the code confirms
    assert_plain_ok(&retried);
    let code = env.latest_code(&phone).await;
    assert_eq!(env.confirm(&phone, &code).await.status, 200);
    assert_eq!(env.accounts_for(&phone).await, 1);
}

#[tokio::test]
async fn a_pending_signup_frees_its_phone_after_seven_days() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_plain_ok(&env.signup(json!({ "phone": phone, "password": "Abandoned-1" })).await);
    let stale_code = env.latest_code(&phone).await;
    env.clock.advance(7 * 24 * 3600 + 1);

    assert_eq!(env.confirm(&phone, &stale_code).await.status, 400, "the old code has expired");
    assert_plain_ok(&env.signup(json!({ "phone": phone, "password": "Fresh-start-2" })).await);
    let code = env.latest_code(&phone).await;
    assert_eq!(env.confirm(&phone, &code).await.status, 200);
}

async fn password_hash(env: &TestEnv, phone: &str) -> String {
    env.accounts(phone).await[0]["passwordHash"].as_s().unwrap().clone()
}
