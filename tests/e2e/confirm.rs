use e2e::{TestEnv, fresh_phone};
use futures::future::join;
use serde_json::json;

async fn pending(env: &TestEnv) -> (String, String) {
    let phone = fresh_phone();
    let answer = env.signup(json!({ "phone": phone, "password": "1234Qwerty" })).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let code = env.latest_code(&phone).await;
    (phone, code)
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code_even_for_the_right_one() {
    // GIVEN a pending signup
    let env = TestEnv::new().await;
    let (phone, code) = pending(&env).await;
    // WHEN five wrong codes are tried
    for remaining in (0..5).rev() {
        let answer = env.confirm(&phone, &wrong(&code)).await;
        // THEN each says how many attempts remain
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body["error"], "CODE_INVALID");
        assert_eq!(answer.body["field"], "code");
        assert_eq!(answer.body["data"]["attemptsRemaining"], remaining);
    }
    // AND then the right code is refused too
    let answer = env.confirm(&phone, &code).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"], "CODE_EXPIRED");
    assert_eq!(answer.body["data"]["attemptsRemaining"], 0);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let env = TestEnv::new().await;
    let (phone, code) = pending(&env).await;
    env.clock.advance(5 * 60);
    let answer = env.confirm(&phone, &code).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"], "CODE_EXPIRED");
}

#[tokio::test]
async fn a_code_just_inside_its_lifetime_works() {
    let env = TestEnv::new().await;
    let (phone, code) = pending(&env).await;
    env.clock.advance(5 * 60 - 1);
    assert_eq!(env.confirm(&phone, &code).await.status, 200);
}

#[tokio::test]
async fn two_parallel_confirms_with_the_right_code_give_exactly_one_success() {
    let env = TestEnv::new().await;
    let (phone, code) = pending(&env).await;
    let (a, b) = join(env.confirm(&phone, &code), env.confirm(&phone, &code)).await;
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{:?} {:?}", (a.status, &a.body["error"]), (b.status, &b.body["error"]));
}

#[tokio::test]
async fn a_code_is_single_use() {
    let env = TestEnv::new().await;
    let (phone, code) = pending(&env).await;
    assert_eq!(env.confirm(&phone, &code).await.status, 200);
    let again = env.confirm(&phone, &code).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["error"], "CODE_EXPIRED");
}

#[tokio::test]
async fn a_code_for_one_phone_does_not_confirm_another() {
    let env = TestEnv::new().await;
    let (_, code) = pending(&env).await;
    let (other_phone, _) = pending(&env).await;
    let answer = env.confirm(&other_phone, &code).await;
    // The other phone's own code may collide by chance (1 in a million); then it would be right.
    if answer.status != 200 {
        assert_eq!(answer.body["error"], "CODE_INVALID");
    }
}

#[tokio::test]
async fn confirming_an_unknown_phone_is_a_clear_400() {
    let env = TestEnv::new().await;
    let answer = env.confirm(&fresh_phone(), "123456").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"], "CODE_EXPIRED");
}
