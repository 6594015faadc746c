use e2e::{TestEnv, fresh_phone};
use serde_json::json;

#[tokio::test]
async fn resend_inside_the_cooldown_says_when_to_retry() {
    // GIVEN a signup that just sent a code
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await.status, 200);
    env.clock.advance(20);
    // WHEN a new code is asked for 20 s later
    let answer = env.resend(&phone).await;
    // THEN it is refused with 429 and how long to wait, in the body and the header
    assert_eq!(answer.status, 429, "{:?}", answer.body);
    assert_eq!(answer.body["error"], "TOO_MANY_REQUESTS");
    assert_eq!(answer.body["data"]["retryAfter"], 40);
    assert_eq!(answer.headers["retry-after"], "40");
    assert_eq!(env.sms_to(&phone).await.len(), 1);
}

#[tokio::test]
async fn resend_after_the_cooldown_sends_a_new_code_and_kills_the_old_one() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await.status, 200);
    let old = env.latest_code(&phone).await;
    env.clock.advance(60);

    let answer = env.resend(&phone).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body, json!({ "result": "ok" }));
    assert_eq!(env.sms_to(&phone).await.len(), 2);
    let new = env.latest_code(&phone).await;
    if new != old {
        assert_eq!(env.confirm(&phone, &old).await.status, 400, "the old code is dead");
    }
    assert_eq!(env.confirm(&phone, &new).await.status, 200);
}

#[tokio::test]
async fn the_hourly_cap_stops_the_sixth_code() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await.status, 200);
    for _ in 0..4 {
        env.clock.advance(60);
        assert_eq!(env.resend(&phone).await.status, 200);
    }
    env.clock.advance(60);
    let capped = env.resend(&phone).await;
    assert_eq!(capped.status, 429);
    // The first of the five sends was 300 s ago: the window frees in 3300 s.
    assert_eq!(capped.body["data"]["retryAfter"], 3600 - 300);
    assert_eq!(env.sms_to(&phone).await.len(), 5);
}

#[tokio::test]
async fn resend_for_a_phone_without_a_pending_signup_answers_alike_and_sends_nothing() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let answer = env.resend(&phone).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({ "result": "ok" }));
    assert!(env.sms_to(&phone).await.is_empty());
    // The limits hold as for a real resend, so a second try cannot tell the two apart either.
    env.clock.advance(20);
    let again = env.resend(&phone).await;
    assert_eq!((again.status, &again.body["data"]["retryAfter"]), (429, &json!(40)));
}
