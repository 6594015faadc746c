//! Operations on one account racing each other on parallel copies of the functions (one table, a
//! multi-thread runtime): each pair either conflicts in the store or is harmless, and nothing of a
//! deleted account outlives it. The matrix is in docs/behaviour.md, "Concurrency matrix".

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use e2e::{Answer, Endpoint, Item, TestEnv, bearer, fresh_phone};
use registration::ports::{AccountDeletions, DeletionRecord, Erasure, StoreError};
use serde_json::{Value, json};

const PASSWORD: &str = "Quartz-Otter-52";
/// Trials of each race: the window is a few milliseconds wide, so most trials miss it, and each
/// trial starts its second request a little later than the one before to sweep across it.
const TRIALS: u64 = 60;

/// Every attribute of an item, keys included, as text.
fn texts(item: &Item) -> Vec<String> {
    item.values()
        .map(|v| v.as_s().cloned().or_else(|_| v.as_n().cloned()).unwrap_or_else(|_| format!("{v:?}")))
        .collect()
}

/// Items that mention any of `needles`, but for what docs/behaviour.md says a deletion leaves: the
/// send logs (`SENDLOG#…`) and the deletion record (`DELETIONS#…`).
async fn left_of(env: &TestEnv, needles: &[&str]) -> Vec<Item> {
    env.items()
        .await
        .into_iter()
        .filter(|item| {
            let texts = texts(item);
            let pk = texts.iter().find(|t| t.starts_with("SENDLOG#") || t.starts_with("DELETIONS#"));
            pk.is_none() && texts.iter().any(|t| needles.iter().any(|n| t.contains(n)))
        })
        .collect()
}

/// A phone claim left `ACTIVE` for `user_id`, an account that no longer exists.
fn is_orphan_claim(item: &Item, user_id: &str) -> bool {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    text("sk") == "CLAIM" && text("userId") == user_id && text("status") == "ACTIVE"
}

/// Numbers no other trial of this test uses.
fn distinct_phones(used: &mut HashSet<String>, count: usize) -> Vec<String> {
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
struct CountingDeletions {
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
async fn roomy_env() -> (Arc<TestEnv>, Arc<CountingDeletions>) {
    let mut env = TestEnv::new().await;
    let limits = &mut env.app.rate_limits;
    (limits.send, limits.verify, limits.contact, limits.refresh) = (100_000, 100_000, 100_000, 100_000);
    let counting = Arc::new(CountingDeletions { inner: env.app.deletions.clone(), refused: AtomicUsize::new(0) });
    env.app.deletions = counting.clone();
    (Arc::new(env), counting)
}

async fn user_id(env: &TestEnv, auth: &str) -> String {
    let profile = env.as_user(Endpoint::ProfileGet, auth, Value::Null).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned()
}

async fn delete(env: &TestEnv, auth: &str) -> Answer {
    env.as_user(Endpoint::AccountDelete, auth, json!({ "password": PASSWORD })).await
}

/// Runs `first` now and `second` after `delay`, on two tasks of the runtime, as two Lambda copies.
async fn race<A, B>(first: A, second: B, delay: Duration) -> (A::Output, B::Output)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_phone_change_leaves_nothing_of_the_account_and_no_claim_on_either_number() {
    let (env, deletions) = roomy_env().await;
    let mut used = HashSet::new();
    let (mut orphan_claims, mut trials_with_leftovers, mut both_succeeded) = (0, 0, 0);
    let mut delete_took = Duration::ZERO;
    for trial in 0..TRIALS {
        // GIVEN an account that asked to move to a new number, and the code that number got
        let [old, new] = <[String; 2]>::try_from(distinct_phones(&mut used, 2)).unwrap();
        let auth = bearer(&env.registered(&old, PASSWORD).await);
        let user_id = user_id(&env, &auth).await;
        let body = json!({ "phone": new, "password": PASSWORD });
        let asked = env.as_user(Endpoint::PhoneChange, &auth, body).await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        let code = env.latest_code(&new).await;

        // WHEN the account is deleted while the change is confirmed, the confirmation starting a
        // little later in each trial (the deletion checks the password first, which takes a while)
        let delay = delete_took.mul_f64((trial % 20) as f64 / 20.0);
        let (env1, auth1) = (env.clone(), auth.clone());
        let (env2, auth2, new2) = (env.clone(), auth.clone(), new.clone());
        let started = Instant::now();
        let (deleted, moved) = race(
            async move {
                let answer = delete(&env1, &auth1).await;
                (answer, started.elapsed())
            },
            async move { env2.as_user(Endpoint::PhoneChange, &auth2, json!({ "phone": new2, "code": code })).await },
            delay,
        )
        .await;
        let (deleted, took) = deleted;
        delete_took = delete_took.max(took);

        // THEN the account is deleted, the change is a success or a 4xx, never a 5xx
        assert_eq!(deleted.status, 204, "trial {trial}: {:?}", deleted.body);
        assert!(moved.status == 200 || (400..500).contains(&moved.status), "trial {trial}: {moved:?}");
        both_succeeded += u32::from(moved.status == 200);
        // AND a scan of the table finds nothing of the account or its numbers but the send logs and
        // the deletion record
        let left = left_of(&env, &[&user_id, &old, &new]).await;
        if !left.is_empty() {
            trials_with_leftovers += 1;
            orphan_claims += left.iter().filter(|i| is_orphan_claim(i, &user_id)).count();
            eprintln!("trial {trial} (change answered {}): left {left:#?}", moved.status);
        }
    }
    let refused = deletions.refused.load(Ordering::SeqCst);
    eprintln!(
        "deletion racing a phone change: {TRIALS} trials, {both_succeeded} with both answering success, \
{refused} erasures refused by the store (the change landed in the window), {orphan_claims} orphan claims, \
{trials_with_leftovers} trials leaving items"
    );
    assert_eq!((orphan_claims, trials_with_leftovers), (0, 0));
}
