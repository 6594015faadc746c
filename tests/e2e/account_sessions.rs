//! A user sees where they are signed in and ends one session, or every other one.

use e2e::{Answer, Endpoint, SEED_003_MERCHANT, TestEnv, assert_error, bearer, fresh_phone};
use serde_json::Value;

const PASSWORD: &str = "Sessions-pass-61";

async fn sign_in_from(env: &TestEnv, phone: &str, fingerprint: &str) -> Answer {
    let body = serde_json::json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
    let answer = env.call(Endpoint::Token, body, &[("x-fingerprint", Some(fingerprint))]).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer
}

async fn sessions(env: &TestEnv, auth: &str) -> Vec<Value> {
    let answer = env.as_user(Endpoint::SessionsList, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["sessions"].as_array().unwrap().clone()
}

fn refresh_token(answer: &Answer) -> &str {
    answer.body["refresh_token"].as_str().unwrap()
}

#[tokio::test]
async fn a_user_sees_each_device_once_with_its_fingerprint_and_which_one_is_theirs() {
    // GIVEN a user signed in on a phone and a tablet (the signup's own session too)
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    let on_phone = sign_in_from(&env, &phone, "iphone-15").await;
    env.clock.advance(120);
    let on_tablet = sign_in_from(&env, &phone, "ipad-air").await;

    // WHEN the phone lists the sessions
    let listed = sessions(&env, &bearer(&on_phone)).await;

    // THEN it sees three, newest use first, its own marked current, each with its fingerprint
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["fingerprint"], "ipad-air");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["fingerprint"], "iphone-15");
    assert!(listed.iter().all(|s| s["createdAt"].as_str().unwrap().ends_with('Z')));
    // AND a refresh moves the tablet's last use, not its start
    env.clock.advance(60);
    let refreshed = env.refresh(refresh_token(&on_tablet)).await;
    assert_eq!(refreshed.status, 200);
    let tablet = sessions(&env, &bearer(&on_phone)).await.into_iter().find(|s| s["fingerprint"] == "ipad-air").unwrap();
    assert_ne!(tablet["lastUsedAt"], tablet["createdAt"]);
}

#[tokio::test]
async fn ending_one_session_signs_that_device_out_at_once_and_no_other() {
    // GIVEN a user on two devices
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    let kept = sign_in_from(&env, &phone, "laptop").await;
    let lost = sign_in_from(&env, &phone, "lost-phone").await;
    let id = sessions(&env, &bearer(&kept)).await.into_iter().find(|s| s["fingerprint"] == "lost-phone").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // WHEN the laptop ends the lost phone's session
    let ended = env.end_session(&bearer(&kept), &id).await;

    // THEN it is gone: its access token is refused at once, its refresh token too
    assert_eq!(ended.status, 204, "{:?}", ended.body);
    assert!(env.authenticate(&bearer(&lost)).await.is_err());
    assert_eq!(env.refresh(refresh_token(&lost)).await.body["error"], "invalid_grant");
    // AND the laptop is still signed in, and ending the same session again is a 404
    assert!(env.authenticate(&bearer(&kept)).await.is_ok());
    assert_error(&env.end_session(&bearer(&kept), &id).await, 404, "SESSION_NOT_FOUND");
}

#[tokio::test]
async fn a_session_of_another_account_or_partner_is_a_404_like_an_unknown_one() {
    // GIVEN two accounts, and an account of another partner
    let env = TestEnv::new().await;
    let (mine, theirs) = (fresh_phone(), fresh_phone());
    let me = env.registered(&mine, PASSWORD).await;
    let them = env.registered(&theirs, PASSWORD).await;
    let their_id = sessions(&env, &bearer(&them)).await[0]["id"].as_str().unwrap().to_owned();

    // WHEN I try to end their session, and a made-up one
    let foreign = env.end_session(&bearer(&me), &their_id).await;
    let unknown = env.end_session(&bearer(&me), "0123456789abcdef0123456789abcdef").await;

    // THEN both are the same 404, and their session still works
    assert_error(&foreign, 404, "SESSION_NOT_FOUND");
    assert_eq!((foreign.status, &foreign.body), (unknown.status, &unknown.body));
    assert!(env.authenticate(&bearer(&them)).await.is_ok());
    // AND a token of another partner is refused before any session is looked at
    let other_partner = [("authorization", Some(bearer(&me))), ("x-merchant-id", Some(SEED_003_MERCHANT.to_owned()))];
    let headers: Vec<(&'static str, Option<&str>)> = other_partner.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    assert_eq!(env.call(Endpoint::SessionsList, Value::Null, &headers).await.status, 401);
}

#[tokio::test]
async fn ending_every_other_session_keeps_only_the_callers() {
    // GIVEN a user on three devices
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let first = env.registered(&phone, PASSWORD).await;
    let second = sign_in_from(&env, &phone, "tablet").await;
    let caller = sign_in_from(&env, &phone, "laptop").await;

    // WHEN the laptop signs out everywhere else
    let ended = env.as_user(Endpoint::SessionsEndOthers, &bearer(&caller), Value::Null).await;

    // THEN only the laptop's session is left, and the others' tokens are dead at once
    assert_eq!(ended.status, 204, "{:?}", ended.body);
    let left = sessions(&env, &bearer(&caller)).await;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0]["fingerprint"].clone(), left[0]["current"].clone()), ("laptop".into(), true.into()));
    for gone in [&first, &second] {
        assert!(env.authenticate(&bearer(gone)).await.is_err());
        assert_eq!(env.refresh(refresh_token(gone)).await.body["error"], "invalid_grant");
    }
}
