//! Identity verification with Sumsub (seed 003, step 3): the SDK token, the signed webhooks that
//! carry Sumsub's verdict, and the sandbox, against a local stand-in for Sumsub's API.

use e2e::sumsub_standin::Behaviour;
use e2e::{
    Answer, Endpoint, KYC_MERCHANT, KYC_SANDBOX_MERCHANT, MERCHANT, SUMSUB_APP_TOKEN, TestEnv, bearer, fresh_email,
    fresh_phone, webhook_secret,
};
use lambda_http::Body;
use registration::ports::Clock;
use registration::security::sumsub_signature::{DigestAlgorithm, payload_digest};
use serde_json::{Value, json};

const PASSWORD: &str = "1234Qwerty";
const LEVEL: &str = e2e::partners::SUMSUB_LEVEL;

/// A user of `merchant`, signed in.
struct User {
    merchant: &'static str,
    auth: String,
    /// The `userId` the API shows (`usr:...`), Sumsub's `externalUserId`.
    user_id: String,
}

impl User {
    fn headers(&self) -> [(&'static str, Option<&str>); 2] {
        [("x-merchant-id", Some(self.merchant)), ("authorization", Some(self.auth.as_str()))]
    }
}

/// Signs a user of `merchant` up and confirms the phone; a sandbox partner's code is 12345.
async fn signed_up(env: &TestEnv, merchant: &'static str) -> User {
    let phone = fresh_phone();
    let as_partner = [("x-merchant-id", Some(merchant))];
    let signup = env.call(Endpoint::Signup, json!({ "phone": phone, "password": PASSWORD }), &as_partner).await;
    assert_eq!(signup.status, 200, "{:?}", signup.body);
    let code = if merchant == KYC_SANDBOX_MERCHANT { "12345".to_owned() } else { env.latest_code(&phone).await };
    let tokens = env.call(Endpoint::PhoneConfirm, json!({ "phone": phone, "code": code }), &as_partner).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let mut user = User { merchant, auth: bearer(&tokens), user_id: String::new() };
    user.user_id = profile(env, &user).await["userId"].as_str().unwrap().to_owned();
    user
}

/// `signed_up`, then the email confirmed and every personal detail given: KYC_0.
async fn kyc_0_user(env: &TestEnv, merchant: &'static str) -> User {
    let user = all_but_the_postal_code(env, merchant).await;
    assert_eq!(env.call(Endpoint::ProfileUpdate, LAST_DETAIL.clone(), &user.headers()).await.status, 204);
    assert_eq!(profile(env, &user).await["kycLevel"], "KYC_0");
    user
}

/// The detail `all_but_the_postal_code` leaves out.
static LAST_DETAIL: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| json!({ "postalCode": "4050-262" }));

/// `signed_up`, then the email confirmed and every personal detail but the postal code: below KYC_0.
async fn all_but_the_postal_code(env: &TestEnv, merchant: &'static str) -> User {
    let user = signed_up(env, merchant).await;
    let address = fresh_email().to_lowercase();
    let added = env.call(Endpoint::EmailAdd, json!({ "email": address }), &user.headers()).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    let link = match added.body["sandbox"]["confirmationLink"].as_str() {
        Some(link) => link.to_owned(),
        None => env.latest_link(&address).await,
    };
    assert_eq!(env.open_link(&link, true).await.status, 200);
    let details = json!({
        "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "pt",
        "city": "Porto", "address": "Rua das Flores 12"
    });
    assert_eq!(env.call(Endpoint::ProfileUpdate, details, &user.headers()).await.status, 204);
    assert_eq!(profile(env, &user).await["kycLevel"], "NONE");
    user
}

async fn profile(env: &TestEnv, user: &User) -> Value {
    let answer = env.call(Endpoint::ProfileGet, Value::Null, &user.headers()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

async fn sdk_token(env: &TestEnv, user: &User) -> Answer {
    env.call(Endpoint::KycSumsubToken, Value::Null, &user.headers()).await
}

/// An `applicantReviewed` (or other) event shaped as Sumsub's documented examples.
fn event(kind: &str, user_id: &str, result: Value, created_at: &str) -> String {
    json!({
        "applicantId": "5cb56e8e0a975a35f333cb83",
        "inspectionId": "5cb56e8e0a975a35f333cb84",
        "correlationId": "req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4",
        "externalUserId": user_id,
        "levelName": LEVEL,
        "type": kind,
        "reviewResult": result,
        "reviewStatus": "completed",
        "createdAtMs": created_at,
        "sandboxMode": false
    })
    .to_string()
}

fn green(user_id: &str, created_at: &str) -> String {
    event("applicantReviewed", user_id, json!({ "reviewAnswer": "GREEN" }), created_at)
}

fn red(user_id: &str, reject_type: &str, labels: &[&str], created_at: &str) -> String {
    let result = json!({
        "moderationComment": "We could not verify your profile.",
        "clientComment": "Suspected fraudulent account.",
        "reviewAnswer": "RED",
        "rejectLabels": labels,
        "reviewRejectType": reject_type
    });
    event("applicantReviewed", user_id, result, created_at)
}

/// Posts `body` to `partner`'s webhook with the digest `secret` gives it, as Sumsub sends it.
async fn deliver(env: &TestEnv, partner: &str, body: &str, secret: &str, algorithm: DigestAlgorithm) -> Answer {
    let digest = payload_digest(secret, algorithm, body.as_bytes());
    deliver_with(
        env,
        partner,
        body,
        &[("x-payload-digest", Some(&digest)), ("x-payload-digest-alg", Some(algorithm.header_value()))],
    )
    .await
}

async fn deliver_with(env: &TestEnv, partner: &str, body: &str, headers: &[(&'static str, Option<&str>)]) -> Answer {
    use lambda_http::RequestExt;
    let mut req = Endpoint::SumsubWebhook.event();
    *req.uri_mut() =
        format!("https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v2/webhooks/sumsub/{partner}").parse().unwrap();
    let req = req.with_path_parameters(std::collections::HashMap::from([("partnerId".to_owned(), partner.to_owned())]));
    env.call_with_event(Endpoint::SumsubWebhook, req, None, Body::Text(body.to_owned()), headers).await
}

async fn signed(env: &TestEnv, partner: &str, body: &str) -> Answer {
    deliver(env, partner, body, &webhook_secret(partner), DigestAlgorithm::HmacSha256Hex).await
}

fn verification(profile: &Value) -> (String, String, Value) {
    let level = profile["kycLevel"].as_str().unwrap().to_owned();
    let status = profile["identityVerification"]["status"].as_str().unwrap().to_owned();
    (level, status, profile["identityVerification"]["rejectLabels"].clone())
}

#[tokio::test]
async fn a_kyc_0_user_gets_an_sdk_token_that_sumsub_minted_on_a_correctly_signed_request() {
    // GIVEN a KYC_0 user of a partner with Sumsub live
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    assert_eq!(verification(&profile(&env, &user).await).1, "not_started");
    // WHEN the app asks for an SDK token
    let answer = sdk_token(&env, &user).await;
    // THEN it is Sumsub's token for this user, for ten minutes
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["token"].as_str().unwrap().starts_with("_act-"), "{:?}", answer.body);
    assert_eq!(answer.body["userId"], user.user_id);
    assert_eq!(answer.body["expiresIn"], 600);
    // AND the stand-in saw one request, signed as Sumsub documents, for this user at the partner's level
    let seen = env.sumsub_standin.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/resources/accessTokens/sdk"));
    assert_eq!(request.app_token.as_deref(), Some(SUMSUB_APP_TOKEN));
    assert!(request.signature_valid, "the stand-in refused the signature");
    assert_eq!(request.body, json!({ "userId": user.user_id, "levelName": LEVEL, "ttlInSecs": 600 }));
    // AND neither the token nor the secrets reached the logs
    let logs = e2e::logs::text();
    assert!(!logs.contains(answer.body["token"].as_str().unwrap()));
    assert!(!logs.contains(e2e::SUMSUB_APP_SECRET));
}

#[tokio::test]
async fn a_signed_green_review_raises_the_account_to_kyc_1_and_the_same_webhook_again_changes_nothing() {
    // GIVEN a KYC_0 user who went through the SDK
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let pending = event("applicantPending", &user.user_id, Value::Null, "2026-12-02 10:00:00.000");
    assert_eq!(signed(&env, KYC_MERCHANT, &pending).await.body["result"], "applied");
    assert_eq!(verification(&profile(&env, &user).await), ("KYC_0".into(), "pending".into(), json!([])));
    // WHEN Sumsub sends its GREEN review
    let review = green(&user.user_id, "2026-12-02 10:05:00.000");
    let first = signed(&env, KYC_MERCHANT, &review).await;
    // THEN it is applied and the account is KYC_1
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body, json!({ "result": "applied", "verification": "approved" }));
    assert_eq!(verification(&profile(&env, &user).await), ("KYC_1".into(), "approved".into(), json!([])));
    // WHEN Sumsub retries the same webhook
    let before = env.items().await;
    let again = signed(&env, KYC_MERCHANT, &review).await;
    // THEN it is acknowledged, so Sumsub stops, and nothing in the table changed
    assert_eq!(again.status, 200);
    assert_eq!(again.body, json!({ "result": "ignored", "reason": "stale" }));
    assert_eq!(env.items().await, before);
    // AND the user may not open the SDK again, and a profile change keeps KYC_1
    assert_eq!(sdk_token(&env, &user).await.body["error"], "KYC_ALREADY_VERIFIED");
    assert_eq!(env.call(Endpoint::ProfileUpdate, json!({ "city": "Lisboa" }), &user.headers()).await.status, 204);
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1");
    // AND the verdict is server-owned: the app cannot write it
    for field in ["kycLevel", "identityVerification"] {
        let forged = env.call(Endpoint::ProfileUpdate, json!({ field: "KYC_1" }), &user.headers()).await;
        assert_eq!(forged.status, 400, "{field}");
    }
}

#[tokio::test]
async fn forged_webhooks_change_nothing() {
    // GIVEN a KYC_0 user, and a GREEN review for them
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let review = green(&user.user_id, "2026-12-02 10:05:00.000");
    let right = payload_digest(&webhook_secret(KYC_MERCHANT), DigestAlgorithm::HmacSha256Hex, review.as_bytes());
    let sha1 = "HMAC_SHA1_HEX";
    let other_partner =
        payload_digest(&webhook_secret(KYC_SANDBOX_MERCHANT), DigestAlgorithm::HmacSha256Hex, review.as_bytes());
    let tampered = review.replace("GREEN", "GREEN ");
    let before = env.items().await;
    for (case, body, digest, algorithm) in [
        ("no digest", review.as_str(), None, Some("HMAC_SHA256_HEX")),
        ("no algorithm", review.as_str(), Some(right.as_str()), None),
        ("SHA-1", review.as_str(), Some(right.as_str()), Some(sha1)),
        ("wrong digest", review.as_str(), Some("00ff"), Some("HMAC_SHA256_HEX")),
        ("not hex", review.as_str(), Some("zz"), Some("HMAC_SHA256_HEX")),
        ("another partner's secret", review.as_str(), Some(other_partner.as_str()), Some("HMAC_SHA256_HEX")),
        ("a changed body", tampered.as_str(), Some(right.as_str()), Some("HMAC_SHA256_HEX")),
        ("the digest under the other algorithm", review.as_str(), Some(right.as_str()), Some("HMAC_SHA512_HEX")),
    ] {
        // WHEN it arrives forged
        let answer = deliver_with(
            &env,
            KYC_MERCHANT,
            body,
            &[("x-payload-digest", digest), ("x-payload-digest-alg", algorithm)],
        )
        .await;
        // THEN it is a 401 envelope
        assert_eq!(answer.status, 401, "{case}: {:?}", answer.body);
        assert_eq!(answer.body["error"], "WEBHOOK_SIGNATURE_INVALID", "{case}");
    }
    // AND a correctly signed one sent to a partner without Sumsub, or to one that does not exist, is refused the same way
    for partner in [MERCHANT.to_owned(), uuid::Uuid::new_v4().to_string()] {
        let answer =
            deliver(&env, &partner, &review, &webhook_secret(KYC_MERCHANT), DigestAlgorithm::HmacSha256Hex).await;
        assert_eq!((answer.status, answer.body["error"].clone()), (401, json!("WEBHOOK_SIGNATURE_INVALID")));
    }
    // AND nothing changed: the account is still KYC_0
    assert_eq!(env.items().await, before);
    assert_eq!(verification(&profile(&env, &user).await), ("KYC_0".into(), "not_started".into(), json!([])));
    // AND the same review, signed (SHA-512 this time), is applied
    let sha512 =
        deliver(&env, KYC_MERCHANT, &review, &webhook_secret(KYC_MERCHANT), DigestAlgorithm::HmacSha512Hex).await;
    assert_eq!(sha512.body["result"], "applied");
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1");
}

#[tokio::test]
async fn red_retry_lets_the_user_resubmit_and_red_final_rejects_for_good() {
    // GIVEN a KYC_0 user whose photos Sumsub could not read
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let retry = red(&user.user_id, "RETRY", &["UNSATISFACTORY_PHOTOS", "SCREENSHOTS"], "2026-12-02 10:00:00.000");
    assert_eq!(signed(&env, KYC_MERCHANT, &retry).await.body["verification"], "retry");
    // THEN the profile says what to resubmit, the level stays KYC_0, and the SDK opens again
    assert_eq!(
        verification(&profile(&env, &user).await),
        ("KYC_0".into(), "retry".into(), json!(["UNSATISFACTORY_PHOTOS", "SCREENSHOTS"]))
    );
    assert_eq!(sdk_token(&env, &user).await.status, 200);
    // WHEN the second attempt is rejected finally
    let final_red = red(&user.user_id, "FINAL", &["FORGERY"], "2026-12-02 11:00:00.000");
    assert_eq!(signed(&env, KYC_MERCHANT, &final_red).await.body["verification"], "rejected");
    // THEN the account is rejected: KYC_0, no labels shown to the user, no more SDK tokens
    assert_eq!(verification(&profile(&env, &user).await), ("KYC_0".into(), "rejected".into(), json!([])));
    let refused = sdk_token(&env, &user).await;
    assert_eq!((refused.status, refused.body["error"].clone()), (403, json!("KYC_REJECTED")));
    // AND the labels are kept: the user's export carries them
    let export = env.call(Endpoint::AccountExport, Value::Null, &user.headers()).await;
    assert_eq!(export.body["identityReview"]["rejectLabels"], json!(["FORGERY"]));
    assert_eq!(export.body["identityReview"]["sumsubApplicantId"], "5cb56e8e0a975a35f333cb83");
    // AND the earlier RETRY, replayed late, does not reopen it
    assert_eq!(signed(&env, KYC_MERCHANT, &retry).await.body["reason"], "stale");
    assert_eq!(verification(&profile(&env, &user).await).1, "rejected");
}

#[tokio::test]
async fn an_older_review_replayed_after_a_newer_one_never_lowers_the_level() {
    // GIVEN a user whose RETRY (10:00) was followed by a GREEN (11:00)
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let older = red(&user.user_id, "RETRY", &["UNSATISFACTORY_PHOTOS"], "2026-12-02 10:00:00.000");
    let newer = green(&user.user_id, "2026-12-02 11:00:00.000");
    // WHEN they arrive in the wrong order
    assert_eq!(signed(&env, KYC_MERCHANT, &newer).await.body["result"], "applied");
    let late = signed(&env, KYC_MERCHANT, &older).await;
    // THEN the older one is acknowledged and ignored, and the account stays KYC_1
    assert_eq!(late.body, json!({ "result": "ignored", "reason": "stale" }));
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1");
}

#[tokio::test]
async fn authentic_events_that_do_not_apply_are_acknowledged_and_change_nothing() {
    // GIVEN a KYC_0 user of the KYC partner, and a user of another partner
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let stranger = kyc_0_user(&env, KYC_SANDBOX_MERCHANT).await;
    let at = "2026-12-02 10:00:00.000";
    let sandbox_event = green(&user.user_id, at).replace(r#""sandboxMode":false"#, r#""sandboxMode":true"#);
    let before = env.items().await;
    for (case, body, reason) in [
        ("malformed JSON", "{\"type\":".to_owned(), "malformed"),
        ("not an object", "[1,2]".to_owned(), "malformed"),
        ("no review result", event("applicantReviewed", &user.user_id, Value::Null, at), "malformed"),
        ("no time", green(&user.user_id, "sometime"), "malformed"),
        ("another event type", event("applicantCreated", &user.user_id, Value::Null, at), "event_type"),
        ("another level", green(&user.user_id, at).replace(LEVEL, "advanced-level"), "other_level"),
        ("a Sumsub sandbox event for a production token", sandbox_event, "sandbox_event"),
        ("an unknown applicant", green("usr:00000000-0000-4000-8000-000000000000", at), "unknown_applicant"),
        ("not one of ours", green("someone-else", at), "unknown_applicant"),
        ("another partner's user", green(&stranger.user_id, at), "unknown_applicant"),
    ] {
        // WHEN it arrives correctly signed
        let answer = signed(&env, KYC_MERCHANT, &body).await;
        // THEN it is a 200 that says why it was ignored
        assert_eq!(answer.status, 200, "{case}: {:?}", answer.body);
        assert_eq!(answer.body, json!({ "result": "ignored", "reason": reason }), "{case}");
    }
    // AND nothing changed
    assert_eq!(env.items().await, before);
    assert_eq!(profile(&env, &stranger).await["kycLevel"], "KYC_0");
}

#[tokio::test]
async fn token_requests_below_kyc_0_from_another_partner_or_without_sumsub_get_documented_4xx() {
    let env = TestEnv::new().await;
    // GIVEN a user who only confirmed the phone
    let early = signed_up(&env, KYC_MERCHANT).await;
    let answer = sdk_token(&env, &early).await;
    assert_eq!((answer.status, answer.body["error"].clone()), (403, json!("KYC_0_REQUIRED")), "{:?}", answer.body);
    // AND a KYC_0 user whose token is presented under another partner's id
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let crossed = env
        .call(
            Endpoint::KycSumsubToken,
            Value::Null,
            &[("x-merchant-id", Some(KYC_SANDBOX_MERCHANT)), ("authorization", Some(&user.auth))],
        )
        .await;
    assert_eq!(crossed.status, 401, "{:?}", crossed.body);
    assert_eq!(crossed.body["error"], "UNAUTHORIZED");
    // AND a KYC_0 user of a partner with Sumsub off
    let plain = kyc_0_user_of_plain_partner(&env).await;
    let off = sdk_token(&env, &plain).await;
    assert_eq!((off.status, off.body["error"].clone()), (403, json!("KYC_NOT_ENABLED")));
    // AND no token and a bad one
    let none = env
        .call(Endpoint::KycSumsubToken, Value::Null, &[("x-merchant-id", Some(KYC_MERCHANT)), ("authorization", None)])
        .await;
    assert_eq!(none.status, 401);
    // THEN Sumsub was never asked
    assert!(env.sumsub_standin.seen().is_empty());
}

async fn kyc_0_user_of_plain_partner(env: &TestEnv) -> User {
    // The seed's partner is live, without Sumsub: its codes come by SMS and links by email.
    kyc_0_user(env, MERCHANT).await
}

#[tokio::test]
async fn sumsub_down_or_slow_answers_503_within_the_function_timeout() {
    // GIVEN a KYC_0 user
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    for behaviour in [Behaviour::Fail500, Behaviour::Hang] {
        // WHEN Sumsub fails or hangs
        env.sumsub_standin.behave(behaviour);
        let started = std::time::Instant::now();
        let answer = sdk_token(&env, &user).await;
        // THEN the answer is a 503 envelope, well within the function's 10 s
        assert_eq!((answer.status, answer.body["error"].clone()), (503, json!("UNAVAILABLE")), "{behaviour:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{behaviour:?} took {:?}", started.elapsed());
    }
    // AND a partner whose app token Sumsub refuses gets 503 too, never Sumsub's 401
    env.sumsub_standin.behave(Behaviour::Answer);
    env.update_partner(KYC_MERCHANT, |p| p.sumsub.as_mut().unwrap().app_token = Some("prd:revoked".into())).await;
    let refused = sdk_token(&env, &user).await;
    assert_eq!((refused.status, refused.body["error"].clone()), (503, json!("UNAVAILABLE")));
}

#[tokio::test]
async fn a_sandbox_partner_verifies_users_without_any_call_to_sumsub() {
    // GIVEN a KYC_0 user of a sandbox partner with Sumsub in sandbox mode
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_SANDBOX_MERCHANT).await;
    // WHEN the app asks for an SDK token
    let answer = sdk_token(&env, &user).await;
    // THEN it gets a recognisable sandbox token
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["token"].as_str().unwrap().starts_with("_sandbox-act-"), "{:?}", answer.body);
    assert_eq!(answer.body["userId"], user.user_id);
    // WHEN the partner's test plays Sumsub: a GREEN review signed with its webhook secret
    let review =
        green(&user.user_id, "2026-12-02 10:05:00.000").replace(r#""sandboxMode":false"#, r#""sandboxMode":true"#);
    assert_eq!(signed(&env, KYC_SANDBOX_MERCHANT, &review).await.body["result"], "applied");
    // THEN the user is KYC_1, and Sumsub was never called
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1");
    assert!(env.sumsub_standin.seen().is_empty());
    // AND a RED FINAL for another sandbox user rejects them the same way
    let other = kyc_0_user(&env, KYC_SANDBOX_MERCHANT).await;
    let rejected = red(&other.user_id, "FINAL", &["ADDITIONAL_DOCUMENT_REQUIRED"], "2026-12-02 10:06:00.000");
    assert_eq!(signed(&env, KYC_SANDBOX_MERCHANT, &rejected).await.body["verification"], "rejected");
    assert_eq!(verification(&profile(&env, &other).await).1, "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_two_reviews_leave_the_newer_one() {
    // GIVEN a KYC_0 user, and a RETRY (10:00) and a GREEN (11:00) that Sumsub retries at once
    let env = std::sync::Arc::new(TestEnv::new().await);
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let older = red(&user.user_id, "RETRY", &["UNSATISFACTORY_PHOTOS"], "2026-12-02 10:00:00.000");
    let newer = green(&user.user_id, "2026-12-02 11:00:00.000");
    // WHEN each arrives four times, truly in parallel
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (env, body) = (env.clone(), if i % 2 == 0 { older.clone() } else { newer.clone() });
        tasks.push(tokio::spawn(async move { signed(&env, KYC_MERCHANT, &body).await.status }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    // THEN the newer verdict stands
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1");
}

#[tokio::test]
async fn a_review_dated_far_ahead_of_the_clock_is_ignored_as_future_and_real_verdicts_after_it_still_apply() {
    // GIVEN a KYC_0 user, and the service's clock
    let env = TestEnv::new().await;
    let user = kyc_0_user(&env, KYC_MERCHANT).await;
    let at = |offset_secs: i64| registration::domain::utc_time::UtcTime(env.clock.now() + offset_secs).rfc3339();
    let before = env.items().await;

    for (case, created_at) in [
        ("the year 9999", "9999-12-31 23:59:59.999".to_owned()),
        ("ten minutes ahead", at(10 * 60)),
        ("a second past the five minutes allowed", at(5 * 60 + 1)),
    ] {
        // WHEN a correctly signed GREEN dated then arrives
        let answer = signed(&env, KYC_MERCHANT, &green(&user.user_id, &created_at)).await;

        // THEN it is acknowledged, ignored as from the future, and changes nothing
        assert_eq!(answer.status, 200, "{case}: {:?}", answer.body);
        assert_eq!(answer.body, json!({ "result": "ignored", "reason": "future" }), "{case}");
    }
    assert_eq!(env.items().await, before);
    assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_0");

    // WHEN Sumsub's real final RED comes, dated now, then a GREEN dated within the allowance
    let rejected = signed(&env, KYC_MERCHANT, &red(&user.user_id, "FINAL", &["FORGERY"], &at(0))).await;

    // THEN the RED applies (no verdict from the future outranks it), and a slightly fast clock is no
    // reason to refuse a later one
    assert_eq!(rejected.body, json!({ "result": "applied", "verification": "rejected" }), "{:?}", rejected.body);
    assert_eq!(verification(&profile(&env, &user).await).1, "rejected");
    let green_soon = signed(&env, KYC_MERCHANT, &green(&user.user_id, &at(4 * 60))).await;
    assert_eq!(green_soon.body, json!({ "result": "applied", "verification": "approved" }));
}

/// Two dozen users from one address: the per-IP limits are not what the races test.
async fn roomy_env() -> std::sync::Arc<TestEnv> {
    let mut env = TestEnv::new().await;
    let limits = &mut env.app.rate_limits;
    (limits.send, limits.verify, limits.contact, limits.refresh) = (100_000, 100_000, 100_000, 100_000);
    std::sync::Arc::new(env)
}

/// Round `round`'s head starts: the two handlers take different times to reach their read of the
/// account, so each round starts one of them a little later than the last, and some interleave.
fn staggered(round: u64) -> (std::time::Duration, std::time::Duration) {
    let later = std::time::Duration::from_millis(round / 2 % 6 * 8);
    if round.is_multiple_of(2) { (later, std::time::Duration::ZERO) } else { (std::time::Duration::ZERO, later) }
}

/// Sumsub's GREEN for `user`, delivered signed after `after`.
fn verdict_after(
    env: &std::sync::Arc<TestEnv>,
    user: &User,
    after: std::time::Duration,
) -> tokio::task::JoinHandle<u16> {
    let (env, approved) = (env.clone(), green(&user.user_id, "2026-12-02 11:00:00.000"));
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        signed(&env, KYC_MERCHANT, &approved).await.status
    })
}

/// `endpoint` called as `user` with `body` after `after`, on a task of its own.
fn call_after(
    env: &std::sync::Arc<TestEnv>,
    endpoint: Endpoint,
    body: Value,
    user: &User,
    after: std::time::Duration,
) -> tokio::task::JoinHandle<Answer> {
    let (env, auth, merchant) = (env.clone(), user.auth.clone(), user.merchant);
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        env.call(endpoint, body, &[("x-merchant-id", Some(merchant)), ("authorization", Some(auth.as_str()))]).await
    })
}

/// The partner's level events of `user` go from NONE to KYC_1, each one's previous level the last
/// one's level, in the account's order: none was computed from a stale half.
async fn assert_level_events_chain_to_kyc_1(env: &TestEnv, user: &User, round: u64) {
    use registration::adapters::dynamodb::DynamoStore;
    use registration::domain::kyc::KycLevel;
    use registration::ports::EventOutbox;
    use registration::webhooks::event::AccountEvent;

    let store = DynamoStore::new(env.dynamodb.clone(), env.table.clone());
    let uuid = user.user_id.trim_start_matches("usr:");
    let mut changes: Vec<(u64, KycLevel, KycLevel)> = store
        .events_between(KYC_MERCHANT, 0, 0xFFFF_FFFF_FFFF, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, event)| event.user_id == uuid || event.user_id == user.user_id)
        .filter_map(|(_, event)| match event.event {
            AccountEvent::KycLevelChanged { level, previous } => Some((event.sequence, previous, level)),
            _ => None,
        })
        .collect();
    changes.sort();
    assert!(!changes.is_empty(), "round {round}: no level event");
    assert_eq!(changes.first().unwrap().1, KycLevel::None, "round {round}: {changes:?}");
    assert_eq!(changes.last().unwrap().2, KycLevel::Kyc1, "round {round}: {changes:?}");
    assert!(changes.windows(2).all(|pair| pair[0].2 == pair[1].1), "round {round}: {changes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verdict_racing_the_last_detail_ends_at_kyc_1_with_level_events_that_chain() {
    let env = roomy_env().await;
    for round in 0..24u64 {
        let (detail_after, verdict_after_by) = staggered(round);
        // GIVEN a user one detail short of KYC_0, whom Sumsub approves
        let user = all_but_the_postal_code(&env, KYC_MERCHANT).await;
        // WHEN the last detail and the verdict arrive truly at once
        let detail = call_after(&env, Endpoint::ProfileUpdate, LAST_DETAIL.clone(), &user, detail_after);
        let verdict = verdict_after(&env, &user, verdict_after_by);
        // THEN both are taken, and the user is KYC_1
        assert_eq!((detail.await.unwrap().status, verdict.await.unwrap()), (204, 200), "round {round}");
        assert_eq!(profile(&env, &user).await["kycLevel"], "KYC_1", "round {round}");
        // AND the partner's level events chain from NONE to KYC_1
        assert_level_events_chain_to_kyc_1(&env, &user, round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verdict_racing_the_email_confirmation_that_completes_kyc_0_ends_at_kyc_1_with_level_events_that_chain() {
    let env = roomy_env().await;
    for round in 0..16u64 {
        let (link_after, verdict_after_by) = staggered(round);
        // GIVEN a user with every detail and a confirmed phone, whose email's link is all that
        // KYC_0 lacks, and whom Sumsub approves
        let user = signed_up(&env, KYC_MERCHANT).await;
        let details = json!({
            "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "pt",
            "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"
        });
        assert_eq!(env.call(Endpoint::ProfileUpdate, details, &user.headers()).await.status, 204);
        let address = fresh_email().to_lowercase();
        assert_eq!(env.call(Endpoint::EmailAdd, json!({ "email": address }), &user.headers()).await.status, 200);
        let link = env.latest_link(&address).await;
        assert_eq!(profile(&env, &user).await["kycLevel"], "NONE", "round {round}");
        // WHEN the link's confirmation and the verdict arrive truly at once
        let confirmation = {
            let env = env.clone();
            tokio::spawn(async move {
                tokio::time::sleep(link_after).await;
                env.open_link(&link, true).await.status
            })
        };
        let verdict = verdict_after(&env, &user, verdict_after_by);
        // THEN both are taken, the address is the account's, and the user is KYC_1
        assert_eq!((confirmation.await.unwrap(), verdict.await.unwrap()), (200, 200), "round {round}");
        let after = profile(&env, &user).await;
        assert_eq!((&after["email"], &after["kycLevel"]), (&json!(address), &json!("KYC_1")), "round {round}");
        // AND the partner's level events chain from NONE to KYC_1
        assert_level_events_chain_to_kyc_1(&env, &user, round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verdict_racing_a_move_to_a_new_number_ends_at_kyc_1_on_that_number_with_level_events_that_chain() {
    let env = roomy_env().await;
    for round in 0..16u64 {
        let (move_after, verdict_after_by) = staggered(round);
        // GIVEN a KYC_0 user whose new number got its code, and whom Sumsub approves
        let user = kyc_0_user(&env, KYC_MERCHANT).await;
        let new = fresh_phone();
        let ask = json!({ "phone": new, "password": PASSWORD });
        assert_eq!(env.call(Endpoint::PhoneChange, ask, &user.headers()).await.status, 200, "round {round}");
        let code = env.latest_code(&new).await;
        // WHEN the code's confirmation and the verdict arrive truly at once
        let confirm = json!({ "phone": new, "code": code });
        let moved = call_after(&env, Endpoint::PhoneChange, confirm, &user, move_after);
        let verdict = verdict_after(&env, &user, verdict_after_by);
        // THEN both are taken, the account is on the new number, and the user is KYC_1
        assert_eq!((moved.await.unwrap().status, verdict.await.unwrap()), (200, 200), "round {round}");
        let after = profile(&env, &user).await;
        assert_eq!((&after["phone"], &after["kycLevel"]), (&json!(new), &json!("KYC_1")), "round {round}");
        // AND the partner's level events chain from NONE to KYC_1
        assert_level_events_chain_to_kyc_1(&env, &user, round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verdict_racing_the_phone_that_completes_kyc_0_ends_at_kyc_1_with_level_events_that_chain() {
    let env = roomy_env().await;
    let as_partner = [("x-merchant-id", Some(KYC_MERCHANT))];
    for round in 0..24u64 {
        let (add_after, verdict_after_by) = staggered(round);
        // GIVEN an email-first user with every detail, whose phone's code is all that KYC_0 lacks,
        // and whom Sumsub approves
        let address = fresh_email().to_lowercase();
        let ask = json!({ "email": address, "password": PASSWORD });
        assert_eq!(env.call(Endpoint::SignupEmail, ask, &as_partner).await.status, 200, "round {round}");
        let code = env.emailed_code(&address).await;
        let confirm = json!({ "email": address, "password": PASSWORD, "emailConfirmCode": code });
        let tokens = env.call(Endpoint::SignupEmail, confirm, &as_partner).await;
        assert_eq!(tokens.status, 200, "round {round}: {:?}", tokens.body);
        let mut user = User { merchant: KYC_MERCHANT, auth: bearer(&tokens), user_id: String::new() };
        user.user_id = profile(&env, &user).await["userId"].as_str().unwrap().to_owned();
        let details = json!({
            "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "pt",
            "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"
        });
        assert_eq!(env.call(Endpoint::ProfileUpdate, details, &user.headers()).await.status, 204);
        let phone = fresh_phone();
        assert_eq!(env.call(Endpoint::PhoneAdd, json!({ "phone": phone }), &user.headers()).await.status, 200);
        let add = json!({ "phone": phone, "code": env.latest_code(&phone).await });
        assert_eq!(profile(&env, &user).await["kycLevel"], "NONE", "round {round}");
        // WHEN the phone's code and the verdict arrive truly at once
        let added = call_after(&env, Endpoint::PhoneAdd, add.clone(), &user, add_after);
        let verdict = verdict_after(&env, &user, verdict_after_by);
        // THEN the verdict is taken, and the addition too, or it answers CODE_EXPIRED (the profile
        // moved under it) and the same code then works
        assert_eq!(verdict.await.unwrap(), 200, "round {round}");
        let added = added.await.unwrap();
        if added.status != 200 {
            assert_eq!((added.status, &added.body["error"]), (400, &json!("CODE_EXPIRED")), "round {round}");
            let again = env.call(Endpoint::PhoneAdd, add, &user.headers()).await;
            assert_eq!(again.status, 200, "round {round}: {:?}", again.body);
        }
        // AND the phone is the account's, and the user is KYC_1
        let after = profile(&env, &user).await;
        assert_eq!((&after["phone"], &after["kycLevel"]), (&json!(phone), &json!("KYC_1")), "round {round}");
        // AND the partner's level events chain from NONE to KYC_1
        assert_level_events_chain_to_kyc_1(&env, &user, round).await;
    }
}
