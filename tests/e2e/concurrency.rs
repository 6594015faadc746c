//! Operations on one account racing each other on parallel copies of the functions (one table, a
//! multi-thread runtime): each pair either conflicts in the store or is harmless, and nothing of a
//! deleted account outlives it. The matrix is in docs/behaviour.md, "Concurrency matrix".

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use e2e::{
    Answer, Endpoint, Item, KYC_SANDBOX_MERCHANT, MERCHANT, TestEnv, bearer, fresh_email, fresh_phone, webhook_secret,
};
use lambda_http::Body;
use registration::domain::utc_time::UtcTime;
use registration::ports::{AccountDeletions, Clock, DeletionRecord, Erasure, StoreError};
use registration::security::sumsub_signature::{DigestAlgorithm, payload_digest};
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "Quartz-Otter-52";
/// Trials of the race the review found (deletion and phone change): the window is a few
/// milliseconds wide, so most trials miss it, and each trial starts its second request a little
/// later than the one before to sweep across it. The other races run fewer.
const TRIALS: u64 = 60;
const FEWER_TRIALS: u64 = 20;

/// Every attribute of an item, keys included, as text.
fn texts(item: &Item) -> Vec<String> {
    item.values()
        .map(|v| v.as_s().cloned().or_else(|_| v.as_n().cloned()).unwrap_or_else(|_| format!("{v:?}")))
        .collect()
}

/// Items that mention any of `needles`, but for what docs/behaviour.md says a deletion leaves: the
/// send logs (`SENDLOG#…`), the deletion record (`DELETIONS#…`) and the partner's `account.deleted`
/// event (`EVENTS#…`).
pub(crate) async fn left_of(env: &TestEnv, needles: &[&str]) -> Vec<Item> {
    env.items()
        .await
        .into_iter()
        .filter(|item| {
            let texts = texts(item);
            // Webhook events are left by design only when they name no phone or address (those
            // are filed in the account's index and erased with it).
            let names_contact = ["account.created", "account.phone_changed", "account.email_changed"];
            let event = texts.iter().any(|t| t.starts_with("EVENTS#"))
                && !texts.iter().any(|t| names_contact.contains(&t.as_str()));
            let pk = texts.iter().find(|t| t.starts_with("SENDLOG#") || t.starts_with("DELETIONS#"));
            pk.is_none() && !event && texts.iter().any(|t| needles.iter().any(|n| t.contains(n)))
        })
        .collect()
}

/// An item's text attribute `name`, or nothing.
pub(crate) fn text(item: &Item, name: &str) -> String {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// A phone claim left `ACTIVE` for `user_id`, an account that no longer exists.
fn is_orphan_claim(item: &Item, user_id: &str) -> bool {
    text(item, "sk") == "CLAIM" && text(item, "userId") == user_id && text(item, "status") == "ACTIVE"
}

/// Numbers no other trial of this test uses.
pub(crate) fn distinct_phones(used: &mut HashSet<String>, count: usize) -> Vec<String> {
    let mut phones = Vec::with_capacity(count);
    while phones.len() < count {
        let phone = fresh_phone();
        if used.insert(phone.clone()) {
            phones.push(phone);
        }
    }
    phones
}

/// The real deletion steps, counting the erasures the store refused because the account changed
/// after the deletion read it: each is a trial whose race landed in the window.
pub(crate) struct CountingDeletions {
    inner: Arc<dyn AccountDeletions>,
    refused: AtomicUsize,
}

#[async_trait]
impl AccountDeletions for CountingDeletions {
    async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
        self.inner.sweep_account(user_id).await
    }

    async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
        let result = self.inner.erase_account(erasure).await;
        if matches!(result, Err(StoreError::Conflict)) {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
        self.inner.deletion_records(merchant_id).await
    }
}

/// A service whose per-IP limits do not stop a test that makes many accounts from one address, and
/// whose deletions count the erasures the store refused.
pub(crate) async fn roomy_env() -> (Arc<TestEnv>, Arc<CountingDeletions>) {
    let mut env = TestEnv::new().await;
    let limits = &mut env.app.rate_limits;
    (limits.send, limits.verify, limits.contact, limits.refresh) = (100_000, 100_000, 100_000, 100_000);
    let counting = Arc::new(CountingDeletions { inner: env.app.deletions.clone(), refused: AtomicUsize::new(0) });
    env.app.deletions = counting.clone();
    (Arc::new(env), counting)
}

async fn user_id(env: &TestEnv, auth: &str, merchant: &str) -> String {
    let headers = [("authorization", Some(auth)), ("x-merchant-id", Some(merchant))];
    let profile = env.call(Endpoint::ProfileGet, Value::Null, &headers).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned()
}

pub(crate) async fn delete(env: &TestEnv, auth: &str, merchant: &str) -> Answer {
    let headers = [("authorization", Some(auth)), ("x-merchant-id", Some(merchant))];
    env.call(Endpoint::AccountDelete, json!({ "password": PASSWORD }), &headers).await
}

/// Runs `first` now and `second` after `delay`, on two tasks of the runtime, as two Lambda copies.
pub(crate) async fn race<A, B>(first: A, second: B, delay: Duration) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    B: Future + Send + 'static,
    A::Output: Send + 'static,
    B::Output: Send + 'static,
{
    let first = tokio::spawn(first);
    let second = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        second.await
    });
    (first.await.unwrap(), second.await.unwrap())
}

/// An account made for one trial of a race with its deletion.
struct Prepared<T> {
    auth: String,
    merchant: &'static str,
    user_id: String,
    /// What else names the account in the table: its phone, its address, a number it moves to.
    names: Vec<String>,
    /// What the racing request needs (a code, a link, a token).
    with: T,
}

/// What the trials of one race came to.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Trials in which the racing request succeeded too.
    both_succeeded: usize,
    /// Phone claims left `ACTIVE` for the deleted account.
    orphan_claims: usize,
    /// Trials after which a scan found anything of the deleted account but its send logs and
    /// deletion record.
    trials_leaving_items: usize,
}

/// Deletes an account made by `prepare` while `other` runs on another task, `trials` times, the
/// other request starting later in each trial to sweep across the deletion; after each trial,
/// the deletion is a 204, the other request a success or a 4xx, `check` holds, and a scan of the
/// table finds nothing of the account but its send logs, its deletion record and what `made_after`
/// says the other request made once the account was gone (as it would for an identifier nobody has).
async fn deletion_races<T, O, OF>(
    env: &Arc<TestEnv>,
    name: &str,
    trials: u64,
    mut prepare: impl AsyncFnMut(u64) -> Prepared<T>,
    other: O,
    check: impl AsyncFn(&Answer),
    made_after: impl Fn(&Answer, &Item) -> bool,
) -> Tally
where
    T: Send + 'static,
    O: Fn(T) -> OF,
    OF: Future<Output = Answer> + Send + 'static,
{
    let mut tally = Tally::default();
    let mut delete_took = Duration::ZERO;
    for trial in 0..trials {
        let prepared = prepare(trial).await;
        let delay = delete_took.mul_f64((trial % 20) as f64 / 20.0);
        let (env1, auth, merchant) = (env.clone(), prepared.auth.clone(), prepared.merchant);
        let started = Instant::now();
        let deleting = async move {
            let answer = delete(&env1, &auth, merchant).await;
            (answer, started.elapsed())
        };
        let ((deleted, took), answer) = race(deleting, other(prepared.with), delay).await;
        delete_took = delete_took.max(took);
        assert_eq!(deleted.status, 204, "{name}, trial {trial}: {:?}", deleted.body);
        assert!(answer.status < 500, "{name}, trial {trial}: {answer:?}");
        tally.both_succeeded += usize::from(answer.status == 200);
        check(&answer).await;
        let mut names: Vec<&str> = prepared.names.iter().map(String::as_str).collect();
        names.push(&prepared.user_id);
        let left: Vec<Item> = left_of(env, &names).await.into_iter().filter(|i| !made_after(&answer, i)).collect();
        if !left.is_empty() {
            tally.trials_leaving_items += 1;
            tally.orphan_claims += left.iter().filter(|i| is_orphan_claim(i, &prepared.user_id)).count();
            eprintln!("{name}, trial {trial} (the other answered {}): left {left:#?}", answer.status);
        }
    }
    eprintln!("deletion racing {name}: {trials} trials, {tally:?}");
    tally
}

/// A phone account of the default partner, signed in.
pub(crate) async fn phone_account(env: &TestEnv, used: &mut HashSet<String>) -> (String, Answer, String) {
    let [phone] = <[String; 1]>::try_from(distinct_phones(used, 1)).unwrap();
    let tokens = env.registered(&phone, PASSWORD).await;
    let user_id = user_id(env, &bearer(&tokens), MERCHANT).await;
    (phone, tokens, user_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_phone_change_leaves_nothing_of_the_account_and_no_claim_on_either_number() {
    let (env, deletions) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a phone change",
        TRIALS,
        // GIVEN an account that asked to move to a new number, and the code that number got
        async |_| {
            let (old, tokens, user_id) = phone_account(&env, &mut used).await;
            let [new] = <[String; 1]>::try_from(distinct_phones(&mut used, 1)).unwrap();
            let auth = bearer(&tokens);
            let asked = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new, "password": PASSWORD })).await;
            assert_eq!(asked.status, 200, "{:?}", asked.body);
            let code = env.latest_code(&new).await;
            let with = (auth.clone(), new.clone(), code);
            Prepared { auth, merchant: MERCHANT, user_id, names: vec![old, new], with }
        },
        // WHEN the account is deleted while the change is confirmed
        |(auth, new, code)| {
            let env = env.clone();
            async move { env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new, "code": code })).await }
        },
        async |_| {},
        |_, _| false,
    )
    .await;
    // THEN every deletion is a 204, every change a success or a 4xx, and a scan of the table after
    // each finds nothing of the account or its numbers but the send logs and the deletion record
    eprintln!("erasures refused by the store: {}", deletions.refused.load(Ordering::SeqCst));
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_code_sent_to_a_new_number_leaves_no_code_there() {
    let (env, deletions) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a phone change code",
        FEWER_TRIALS,
        // GIVEN an account
        async |_| {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            let [new] = <[String; 1]>::try_from(distinct_phones(&mut used, 1)).unwrap();
            let auth = bearer(&tokens);
            Prepared { auth: auth.clone(), merchant: MERCHANT, user_id, names: vec![phone, new.clone()], with: (auth, new) }
        },
        // WHEN it is deleted while it asks for a code to move to a new number
        |(auth, new)| {
            let env = env.clone();
            async move { env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new, "password": PASSWORD })).await }
        },
        async |_| {},
        |_, _| false,
    )
    .await;
    // THEN no code (nor anything else of the account) is left under the new number
    eprintln!("erasures refused by the store: {}", deletions.refused.load(Ordering::SeqCst));
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_an_email_confirmation_leaves_no_claim_link_or_code_of_the_account() {
    let (env, deletions) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "an email confirmation",
        FEWER_TRIALS,
        // GIVEN an account that added an address, and the link it was sent
        async |_| {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            let auth = bearer(&tokens);
            let email = fresh_email().to_lowercase();
            let added = env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await;
            assert_eq!(added.status, 200, "{:?}", added.body);
            let link = env.latest_link(&email).await;
            Prepared { auth, merchant: MERCHANT, user_id, names: vec![phone, email], with: link }
        },
        // WHEN the account is deleted while the link's button is pressed
        |link| {
            let env = env.clone();
            async move { env.press_link_button(&link).await }
        },
        async |_| {},
        |_, _| false,
    )
    .await;
    // THEN neither the address's claim nor its link nor anything else of the account is left
    eprintln!("erasures refused by the store: {}", deletions.refused.load(Ordering::SeqCst));
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_sign_in_leaves_no_session_and_the_sign_in_no_working_token() {
    let (env, deletions) = roomy_env().await;
    // (new-device notices on, so the sign-ins mark their devices too)
    env.update_partner(MERCHANT, |p| p.new_device_notices = true).await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a sign-in",
        FEWER_TRIALS,
        // GIVEN an account
        async |trial| {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            let with = (phone.clone(), format!("racing-device-{trial}"));
            Prepared { auth: bearer(&tokens), merchant: MERCHANT, user_id, names: vec![phone], with }
        },
        // WHEN it is deleted while it signs in from a new device
        |(phone, device)| {
            let env = env.clone();
            async move {
                let body = json!({ "grant_type": "password", "username": phone, "password": PASSWORD });
                env.call(Endpoint::Token, body, &[("x-fingerprint", Some(device.as_str()))]).await
            }
        },
        // THEN a sign-in that succeeded holds tokens that no longer work
        async |signed_in| {
            if signed_in.status == 200 {
                assert!(env.authenticate(&bearer(signed_in)).await.is_err());
                let refreshed = env.refresh(signed_in.body["refresh_token"].as_str().unwrap()).await;
                assert_eq!(refreshed.body["error"], "invalid_grant", "{:?}", refreshed.body);
            }
        },
        // (a sign-in that found no account records a failure under the number, as for any number)
        |signed_in, item| {
            let pk = text(item, "pk");
            signed_in.status == 400
                && text(item, "sk") == "SIGNIN"
                && (pk.starts_with("PHONE#") || pk.starts_with("USER#none:"))
        },
    )
    .await;
    // AND no session, token or device mark of the account is left
    eprintln!("erasures refused by the store: {}", deletions.refused.load(Ordering::SeqCst));
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_refresh_leaves_no_refresh_token_that_works() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a refresh",
        FEWER_TRIALS,
        // GIVEN an account and its refresh token
        async |_| {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            let refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
            Prepared { auth: bearer(&tokens), merchant: MERCHANT, user_id, names: vec![phone], with: refresh }
        },
        // WHEN it is deleted while the token is exchanged
        |refresh| {
            let env = env.clone();
            async move { env.refresh(&refresh).await }
        },
        // THEN a successor, if one was given, does not work
        async |refreshed| {
            if refreshed.status == 200 {
                let again = env.refresh(refreshed.body["refresh_token"].as_str().unwrap()).await;
                assert_eq!(again.body["error"], "invalid_grant", "{:?}", again.body);
            }
        },
        |_, _| false,
    )
    .await;
    // AND no refresh token or index entry of the account is left
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_password_reset_leaves_nothing_of_the_account() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a password reset",
        FEWER_TRIALS,
        // GIVEN an account, and a reset code sent to its number
        async |_| {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            env.wait_out_cooldown();
            assert_eq!(env.forgot(&phone).await.status, 200);
            let code = env.latest_code(&phone).await;
            Prepared {
                auth: bearer(&tokens),
                merchant: MERCHANT,
                user_id,
                names: vec![phone.clone()],
                with: (phone, code),
            }
        },
        // WHEN it is deleted while the password is reset with the code
        |(phone, code)| {
            let env = env.clone();
            async move { env.reset(&phone, &code, "Reset-While-Deleting-9").await }
        },
        async |_| {},
        |_, _| false,
    )
    .await;
    // THEN nothing of the account is left, whichever came first
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

/// A signed `applicantReviewed` GREEN for `user_id` (`usr:…`), dated now, as Sumsub sends it.
async fn green_review(env: &TestEnv, user_id: &str) -> Answer {
    use lambda_http::RequestExt;
    let body = json!({
        "applicantId": "5cb56e8e0a975a35f333cb83", "externalUserId": user_id,
        "levelName": e2e::partners::SUMSUB_LEVEL, "type": "applicantReviewed",
        "reviewResult": { "reviewAnswer": "GREEN" }, "reviewStatus": "completed",
        "createdAtMs": UtcTime(env.clock.now()).rfc3339(), "sandboxMode": true
    })
    .to_string();
    let algorithm = DigestAlgorithm::HmacSha256Hex;
    let digest = payload_digest(&webhook_secret(KYC_SANDBOX_MERCHANT), algorithm, body.as_bytes());
    let mut req = Endpoint::SumsubWebhook.event();
    *req.uri_mut() =
        format!("https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v2/webhooks/sumsub/{KYC_SANDBOX_MERCHANT}")
            .parse()
            .unwrap();
    let path = std::collections::HashMap::from([("partnerId".to_owned(), KYC_SANDBOX_MERCHANT.to_owned())]);
    let req = req.with_path_parameters(path);
    let headers =
        [("x-payload-digest", Some(digest.as_str())), ("x-payload-digest-alg", Some(algorithm.header_value()))];
    env.call_with_event(Endpoint::SumsubWebhook, req, None, Body::Text(body), &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_kyc_verdict_leaves_no_account_item_behind() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let tally = deletion_races(
        &env,
        "a KYC verdict",
        FEWER_TRIALS,
        // GIVEN an account of a partner that verifies identities with Sumsub (sandbox: code 12345)
        async |_| {
            let [phone] = <[String; 1]>::try_from(distinct_phones(&mut used, 1)).unwrap();
            let as_partner = [("x-merchant-id", Some(KYC_SANDBOX_MERCHANT))];
            let body = json!({ "phone": phone, "password": PASSWORD });
            assert_eq!(env.call(Endpoint::Signup, body, &as_partner).await.status, 200);
            let confirm = json!({ "phone": phone, "code": "12345" });
            let tokens = env.call(Endpoint::PhoneConfirm, confirm, &as_partner).await;
            let auth = bearer(&tokens);
            let user_id = user_id(&env, &auth, KYC_SANDBOX_MERCHANT).await;
            let with = format!("usr:{user_id}");
            Prepared { auth, merchant: KYC_SANDBOX_MERCHANT, user_id, names: vec![phone], with }
        },
        // WHEN it is deleted while Sumsub's verdict arrives
        |external_user_id| {
            let env = env.clone();
            async move { green_review(&env, &external_user_id).await }
        },
        // THEN the verdict is acknowledged either way
        async |verdict| assert_eq!(verdict.status, 200, "{:?}", verdict.body),
        |_, _| false,
    )
    .await;
    // AND no account item (nor anything else) of the account is left
    assert_eq!((tally.orphan_claims, tally.trials_leaving_items), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_change_and_an_email_change_confirmed_together_both_apply() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let mut refused = 0;
    let mut link_took = Duration::ZERO;
    for trial in 0..FEWER_TRIALS {
        // GIVEN an account with a link for a new address and a code for a new number
        let (_, tokens, _) = phone_account(&env, &mut used).await;
        let auth = bearer(&tokens);
        let [new] = <[String; 1]>::try_from(distinct_phones(&mut used, 1)).unwrap();
        let email = fresh_email().to_lowercase();
        assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await.status, 200);
        let link = env.latest_link(&email).await;
        assert_eq!(
            env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new, "password": PASSWORD })).await.status,
            200
        );
        let code = env.latest_code(&new).await;

        // WHEN the link's button is pressed while the code is entered (both move the profile version)
        let delay = link_took.mul_f64((trial % 10) as f64 / 10.0);
        let (env1, env2, auth2, new2) = (env.clone(), env.clone(), auth.clone(), new.clone());
        let started = Instant::now();
        let ((pressed, took), moved) = race(
            async move { (env1.press_link_button(&link).await, started.elapsed()) },
            async move { env2.as_user(Endpoint::PhoneChange, &auth2, json!({ "phone": new2, "code": code })).await },
            delay,
        )
        .await;
        link_took = link_took.max(took);

        // THEN both apply: the address is confirmed and the account moved
        assert_eq!(pressed.status, 200, "trial {trial}: {}", pressed.text);
        refused += usize::from(moved.status != 200);
        eprintln!("trial {trial}: the move answered {} {}", moved.status, moved.body);
        let profile = env.as_user(Endpoint::ProfileGet, &auth, Value::Null).await.body;
        assert_eq!((&profile["email"], &profile["emailVerified"]), (&json!(email), &json!(true)), "trial {trial}");
        if moved.status == 200 {
            assert_eq!(profile["phone"], json!(new), "trial {trial}");
        }
    }
    assert_eq!(refused, 0, "moves refused because the address was confirmed at the same time");
}
