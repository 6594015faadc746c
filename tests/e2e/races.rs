//! The conflicting pairs of the concurrency matrix (docs/behaviour.md) that concurrency.rs does not
//! race: password resets and changes, refreshes and sign-ins against them, two moves or two
//! addresses at once, and a change of number or address against a reset by the old one. Each test
//! runs the two handlers on two tasks of a multi-thread runtime, on one table, over a number of
//! trials whose start offsets sweep across each other, and checks after every trial that one of the
//! conflicting operations won, the loser changed nothing and answered its error envelope, and the
//! account works as the winner left it. Where both may answer 200 (one ran wholly before the other
//! read the account), the state shows both, one after the other: never a lost update.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Answer, Endpoint, Item, MERCHANT, TestEnv, assert_error, bearer, fresh_email};
use serde_json::{Value, json};

use super::concurrency::{PASSWORD, delete, distinct_phones, left_of, phone_account, race, roomy_env, text};

/// Trials of each race: the window is a few milliseconds wide and the sweep crosses it both ways.
const TRIALS: u64 = 12;
/// For the race whose every trial needs a signup, a link and two codes, each fetched from moto's
/// whole state (which grows with the suite): the slowest to set up.
const FEWER_TRIALS: u64 = 8;
const RESET_TO: &str = "Reset-Marten-83";
const CHANGE_TO: &str = "Change-Plover-27";

/// The start of one request swept across the other's: trial by trial, the delay grows from nothing
/// to nearly half the longest race seen so far (the conflicts lie in the overlap, and trials
/// further apart only run one after the other), with `a` and `b` taking turns to start first.
struct Sweep {
    trials: u64,
    span: Duration,
}

impl Sweep {
    async fn race<A, B>(&mut self, trial: u64, a: A, b: B) -> (A::Output, B::Output)
    where
        A: Future + Send + 'static,
        B: Future + Send + 'static,
        A::Output: Send + 'static,
        B::Output: Send + 'static,
    {
        let steps = (self.trials / 2).max(1);
        let delay = self.span.mul_f64((trial / 2) as f64 / steps as f64 / 2.0);
        let started = Instant::now();
        let answers = if trial.is_multiple_of(2) {
            race(a, b, delay).await
        } else {
            let (b, a) = race(b, a, delay).await;
            (a, b)
        };
        self.span = self.span.max(started.elapsed().saturating_sub(delay));
        answers
    }
}

/// Races `a` against `b` `trials` times, each on what `prepare` made for that trial; `judge` checks
/// each outcome and names it (who won). What the trials came to is printed and returned.
async fn races<T, AF, BF>(
    name: &str,
    trials: u64,
    mut prepare: impl AsyncFnMut() -> T,
    a: impl Fn(&T) -> AF,
    b: impl Fn(&T) -> BF,
    judge: impl AsyncFn(u64, &T, &Answer, &Answer) -> &'static str,
) -> BTreeMap<&'static str, u64>
where
    AF: Future<Output = Answer> + Send + 'static,
    BF: Future<Output = Answer> + Send + 'static,
{
    let mut sweep = Sweep { trials, span: Duration::ZERO };
    let mut outcomes = BTreeMap::new();
    let started = Instant::now();
    for trial in 0..trials {
        let prepared = prepare().await;
        let (first, second) = sweep.race(trial, a(&prepared), b(&prepared)).await;
        assert!(first.status != 500 && second.status != 500, "{name}, trial {trial}: {first:?} {second:?}");
        *outcomes.entry(judge(trial, &prepared, &first, &second).await).or_insert(0) += 1;
    }
    eprintln!("{name}: {trials} trials in {:?}, {outcomes:?}", started.elapsed());
    outcomes
}

async fn change(env: &TestEnv, auth: &str, new: &str) -> Answer {
    env.as_user(Endpoint::PasswordChange, auth, json!({ "oldPassword": PASSWORD, "newPassword": new })).await
}

fn refresh_token(tokens: &Answer) -> String {
    tokens.body["refresh_token"].as_str().unwrap().to_owned()
}

async fn profile(env: &TestEnv, auth: &str) -> Value {
    let answer = env.as_user(Endpoint::ProfileGet, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// `works` signs in as `username`; each of `refused` is refused as a wrong password.
async fn only_password_is(env: &TestEnv, username: &str, works: &str, refused: &[&str]) {
    let signed_in = env.sign_in(username, works).await;
    assert_eq!(signed_in.status, 200, "{username} with {works}: {:?}", signed_in.body);
    for password in refused {
        assert_eq!(env.sign_in(username, password).await.body["error"], "invalid_grant", "{username} with {password}");
    }
}

/// A password change that lost: 401 (the reset or deletion ended its session, or the account is
/// gone, before it was authenticated), 503 (its transaction failed its condition), or 400 on
/// `oldPassword` (it read the account after a reset had set another password).
fn assert_change_lost(changed: &Answer) {
    match changed.status {
        401 => assert_error(changed, 401, "UNAUTHORIZED"),
        503 => assert_error(changed, 503, "UNAVAILABLE"),
        _ => {
            assert_error(changed, 400, "VALIDATION");
            assert_eq!(changed.body["field"], "oldPassword", "{:?}", changed.body);
        }
    }
}

/// Neither the access token nor the refresh token of `tokens` works.
async fn assert_dead(env: &TestEnv, tokens: &Answer, what: &str) {
    assert!(env.authenticate(&bearer(tokens)).await.is_err(), "{what}: an access token still works");
    let refreshed = env.refresh(&refresh_token(tokens)).await;
    assert_eq!(refreshed.body["error"], "invalid_grant", "{what}: a refresh token still works: {:?}", refreshed.body);
}

/// Both the access token and the refresh token of `tokens` work.
async fn assert_alive(env: &TestEnv, tokens: &Answer, what: &str) {
    assert!(env.authenticate(&bearer(tokens)).await.is_ok(), "{what}: the access token no longer works");
    let refreshed = env.refresh(&refresh_token(tokens)).await;
    assert_eq!(refreshed.status, 200, "{what}: the refresh token no longer works: {:?}", refreshed.body);
}

/// A reset code sent by SMS to `phone`, after the signup code's cooldown.
async fn reset_code(env: &TestEnv, phone: &str) -> String {
    env.wait_out_cooldown();
    assert_eq!(env.forgot(phone).await.status, 200);
    env.latest_code(phone).await
}

/// A reset code sent to the confirmed address `email`, after the link's cooldown.
async fn emailed_reset_code(env: &TestEnv, email: &str) -> String {
    env.wait_out_cooldown();
    assert_eq!(env.call(Endpoint::PasswordForgot, json!({ "email": email }), &[]).await.status, 200);
    env.emailed_code(email).await
}

async fn reset_by_email(env: &TestEnv, email: &str, code: &str, password: &str) -> Answer {
    env.call(Endpoint::PasswordReset, json!({ "email": email, "code": code, "password": password }), &[]).await
}

/// Asks for a link to `email` for the signed-in account; the link.
async fn link_to(env: &TestEnv, auth: &str, email: &str) -> String {
    let added = env.as_user(Endpoint::EmailAdd, auth, json!({ "email": email })).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    env.latest_link(email).await
}

/// The item `sk` under the phone number or address `who` (of the default partner), read
/// consistently: its claim (`CLAIM`), a code (`CODE#<purpose>`).
async fn item_of(env: &TestEnv, who: &str, sk: &str) -> Option<Item> {
    let kind = if who.contains('@') { "EMAIL" } else { "PHONE" };
    item(env, format!("{kind}#{MERCHANT}#{who}"), sk).await
}

async fn item(env: &TestEnv, pk: String, sk: &str) -> Option<Item> {
    let key =
        HashMap::from([("pk".to_owned(), AttributeValue::S(pk)), ("sk".to_owned(), AttributeValue::S(sk.into()))]);
    let read = env.dynamodb.get_item().table_name(&env.table).set_key(Some(key)).consistent_read(true);
    read.send().await.expect("get item").item
}

/// `who` is not the account's any more: no claim and no reset code are left under it.
async fn assert_released(env: &TestEnv, who: &str, trial: u64) {
    assert!(item_of(env, who, "CLAIM").await.is_none(), "trial {trial}: a claim is left on {who}");
    assert!(item_of(env, who, "CODE#PASSWORD_RESET").await.is_none(), "trial {trial}: a reset code is left on {who}");
}

/// The account's credential version as stored: each password it is given moves it on by one, so
/// two resets or changes that both answered 200 moved it on by two (one after the other), never by
/// one (a lost update: both set from the same account read).
async fn credential_version(env: &TestEnv, user_id: &str) -> u64 {
    let account = item(env, format!("USER#{user_id}"), "ACCOUNT").await.expect("the account");
    account.get("credentialVersion").map_or(0, |v| v.as_n().unwrap().parse().unwrap())
}

/// The password was set `sets` times since the account's credential version was `before`.
async fn assert_password_set(env: &TestEnv, user_id: &str, before: u64, sets: u64, trial: u64) {
    assert_eq!(credential_version(env, user_id).await, before + sets, "trial {trial}: credential versions");
}

/// A signed-in phone account of the default partner, with a confirmed address.
async fn account_with_email(env: &TestEnv, used: &mut HashSet<String>) -> (String, String, Answer, String) {
    let (phone, tokens, user_id) = phone_account(env, used).await;
    let email = fresh_email().to_lowercase();
    let confirmed = env.press_link_button(&link_to(env, &bearer(&tokens), &email).await).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    (phone, email, tokens, user_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_racing_a_password_change_lets_one_win_and_the_loser_changes_nothing() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "reset against change",
        TRIALS,
        // GIVEN a signed-in account, and a reset code sent to its number
        async || {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            let code = reset_code(&env, &phone).await;
            let before = credential_version(&env, &user_id).await;
            (phone, tokens, code, (user_id, before))
        },
        // WHEN the code resets the password while the signed-in app changes it
        |(phone, _, code, _)| {
            let (env, phone, code) = (env.clone(), phone.clone(), code.clone());
            async move { env.reset(&phone, &code, RESET_TO).await }
        },
        |(_, tokens, _, _)| {
            let (env, auth) = (env.clone(), bearer(tokens));
            async move { change(&env, &auth, CHANGE_TO).await }
        },
        // THEN exactly one of them took, or the change took before the reset read the account
        async |trial, (phone, tokens, code, (user_id, before)), reset, changed| match (reset.status, changed.status) {
            (200, 200) => {
                // AND then the reset's password is the account's, and the change's session ended
                // with the reset: the reset listed it, and the credential version moved on twice
                assert_password_set(&env, user_id, *before, 2, trial).await;
                only_password_is(&env, phone, RESET_TO, &[CHANGE_TO]).await;
                assert_dead(&env, tokens, "the changing session").await;
                "the change went first, then the reset"
            }
            (200, _) => {
                // AND a change that lost answers 401, 503 or 400 and changed nothing: the reset's
                // password is the account's, the session the change was sent from dead with it
                assert_change_lost(changed);
                assert_password_set(&env, user_id, *before, 1, trial).await;
                only_password_is(&env, phone, RESET_TO, &[PASSWORD]).await;
                assert_dead(&env, tokens, "the changing session").await;
                "the reset won"
            }
            (_, 200) => {
                // AND a reset that lost answers CODE_EXPIRED and consumed nothing: the change's
                // password is the account's, its session works, and the code, still unused, resets
                assert_error(reset, 400, "CODE_EXPIRED");
                assert_password_set(&env, user_id, *before, 1, trial).await;
                only_password_is(&env, phone, CHANGE_TO, &[PASSWORD]).await;
                assert_alive(&env, tokens, "the changing session").await;
                assert_eq!(env.reset(phone, code, RESET_TO).await.status, 200, "trial {trial}: the code was spent");
                "the change won"
            }
            _ => panic!("trial {trial}: neither won: {reset:?} {changed:?}"),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_resets_by_phone_and_by_email_let_one_password_win() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let by_email_to = "Email-Reset-Wren-61";
    races(
        "reset by phone against reset by email",
        FEWER_TRIALS,
        // GIVEN an account with a confirmed phone and address, and a reset code sent to each
        async || {
            let (phone, email, _, user_id) = account_with_email(&env, &mut used).await;
            let sms_code = reset_code(&env, &phone).await;
            let email_code = emailed_reset_code(&env, &email).await;
            let before = credential_version(&env, &user_id).await;
            (phone, email, sms_code, email_code, (user_id, before))
        },
        // WHEN both codes reset the password at once, to two different passwords
        |(phone, _, sms_code, _, _)| {
            let (env, phone, code) = (env.clone(), phone.clone(), sms_code.clone());
            async move { env.reset(&phone, &code, RESET_TO).await }
        },
        |(_, email, _, email_code, _)| {
            let (env, email, code) = (env.clone(), email.clone(), email_code.clone());
            async move { reset_by_email(&env, &email, &code, by_email_to).await }
        },
        // THEN one reset took and the other answered CODE_EXPIRED, or one took after the other
        // (and the credential version moved on twice); the password set last signs in by phone and
        // by address, the other and the old one by neither
        async |trial, (phone, email, _, _, (user_id, before)), by_phone, by_email| {
            let sets = match (by_phone.status, by_email.status) {
                (200, 200) => 2,
                (200, _) => {
                    assert_error(by_email, 400, "CODE_EXPIRED");
                    1
                }
                (_, 200) => {
                    assert_error(by_phone, 400, "CODE_EXPIRED");
                    1
                }
                _ => panic!("trial {trial}: neither reset took: {by_phone:?} {by_email:?}"),
            };
            assert_password_set(&env, user_id, *before, sets, trial).await;
            let last = if env.sign_in(phone, RESET_TO).await.status == 200 { RESET_TO } else { by_email_to };
            let other = if last == RESET_TO { by_email_to } else { RESET_TO };
            assert!(sets == 2 || [by_phone, by_email][usize::from(last == by_email_to)].status == 200, "trial {trial}");
            only_password_is(&env, phone, last, &[other]).await;
            only_password_is(&env, email, last, &[PASSWORD]).await;
            match (sets, last == RESET_TO) {
                (2, _) => "one after the other",
                (_, true) => "by phone won",
                _ => "by email won",
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_parallel_resets_with_one_code_give_one_success() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    let other_to = "Second-Reset-Ibis-45";
    races(
        "reset against reset with one code",
        TRIALS,
        // GIVEN an account and a reset code sent to its number
        async || {
            let (phone, _, user_id) = phone_account(&env, &mut used).await;
            let code = reset_code(&env, &phone).await;
            let before = credential_version(&env, &user_id).await;
            (phone, code, (user_id, before))
        },
        // WHEN two copies of the function reset with it at once, to two different passwords
        |(phone, code, _)| {
            let (env, phone, code) = (env.clone(), phone.clone(), code.clone());
            async move { env.reset(&phone, &code, RESET_TO).await }
        },
        |(phone, code, _)| {
            let (env, phone, code) = (env.clone(), phone.clone(), code.clone());
            async move { env.reset(&phone, &code, other_to).await }
        },
        // THEN one took and the other was told the code is spent; the winner's password signs in
        async |trial, (phone, _, (user_id, before)), first, second| {
            let (lost, winner, loser) = match (first.status, second.status) {
                (200, 200) => panic!("trial {trial}: one code reset twice"),
                (200, _) => (second, RESET_TO, other_to),
                (_, 200) => (first, other_to, RESET_TO),
                _ => panic!("trial {trial}: neither reset took: {first:?} {second:?}"),
            };
            assert_error(lost, 400, "CODE_EXPIRED");
            assert_password_set(&env, user_id, *before, 1, trial).await;
            only_password_is(&env, phone, winner, &[loser]).await;
            assert!(item_of(&env, phone, "CODE#PASSWORD_RESET").await.is_none(), "trial {trial}: the code is left");
            if winner == RESET_TO { "the first won" } else { "the second won" }
        },
    )
    .await;
}

/// The racing request's tokens, if it got any, work no more; those of `tokens` neither.
async fn nothing_outlives(env: &TestEnv, racing: &Answer, tokens: &Answer, what: &str) -> &'static str {
    assert_dead(env, tokens, what).await;
    if racing.status == 200 {
        assert_dead(env, racing, what).await;
        "it got tokens, dead now"
    } else {
        assert_eq!(racing.body["error"], "invalid_grant", "{what}: {:?}", racing.body);
        "it was refused"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_refresh_racing_a_reset_leaves_a_working_token() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "reset against refresh",
        TRIALS,
        // GIVEN a signed-in account, and a reset code sent to its number
        async || {
            let (phone, tokens, _) = phone_account(&env, &mut used).await;
            let code = reset_code(&env, &phone).await;
            (phone, tokens, code)
        },
        // WHEN the password is reset while the session's refresh token is exchanged
        |(phone, _, code)| {
            let (env, phone, code) = (env.clone(), phone.clone(), code.clone());
            async move { env.reset(&phone, &code, RESET_TO).await }
        },
        |(_, tokens, _)| {
            let (env, refresh) = (env.clone(), refresh_token(tokens));
            async move { env.refresh(&refresh).await }
        },
        // THEN the reset took, and neither the old tokens nor any successor work
        async |trial, (phone, tokens, _), reset, refreshed| {
            assert_eq!(reset.status, 200, "trial {trial}: {:?}", reset.body);
            only_password_is(&env, phone, RESET_TO, &[PASSWORD]).await;
            nothing_outlives(&env, refreshed, tokens, &format!("trial {trial}")).await
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_refresh_racing_a_password_change_leaves_another_session_working_and_the_callers_survives() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "change against refresh",
        TRIALS,
        // GIVEN an account signed in on two devices
        async || {
            let (phone, caller, _) = phone_account(&env, &mut used).await;
            let other = env.sign_in(&phone, PASSWORD).await;
            assert_eq!(other.status, 200, "{:?}", other.body);
            (phone, caller, other)
        },
        // WHEN one device changes the password while the other exchanges its refresh token
        |(_, caller, _)| {
            let (env, auth) = (env.clone(), bearer(caller));
            async move { change(&env, &auth, CHANGE_TO).await }
        },
        |(_, _, other)| {
            let (env, refresh) = (env.clone(), refresh_token(other));
            async move { env.refresh(&refresh).await }
        },
        // THEN the change took; the other device's tokens and any successor are dead, the caller's
        // session works and the new password is the account's
        async |trial, (phone, caller, other), changed, refreshed| {
            assert_eq!(changed.status, 200, "trial {trial}: {:?}", changed.body);
            let outcome = nothing_outlives(&env, refreshed, other, &format!("trial {trial}")).await;
            assert_alive(&env, caller, &format!("trial {trial}, the caller")).await;
            only_password_is(&env, phone, CHANGE_TO, &[PASSWORD]).await;
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_sign_in_with_the_old_password_racing_a_change_leaves_a_working_session() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "change against sign-in",
        TRIALS,
        // GIVEN a signed-in account
        async || {
            let (phone, tokens, _) = phone_account(&env, &mut used).await;
            (phone, tokens)
        },
        // WHEN it changes the password while another device signs in with the old one
        |(_, tokens)| {
            let (env, auth) = (env.clone(), bearer(tokens));
            async move { change(&env, &auth, CHANGE_TO).await }
        },
        |(phone, _)| {
            let (env, phone) = (env.clone(), phone.clone());
            async move { env.sign_in(&phone, PASSWORD).await }
        },
        // THEN the change took, and a sign-in that got tokens holds tokens that no longer work;
        // the caller's session works and only the new password signs in
        async |trial, (phone, tokens), changed, signed_in| {
            assert_eq!(changed.status, 200, "trial {trial}: {:?}", changed.body);
            let outcome = if signed_in.status == 200 {
                assert_dead(&env, signed_in, &format!("trial {trial}, the sign-in")).await;
                "it got tokens, dead now"
            } else {
                assert_eq!((signed_in.status, &signed_in.body["error"]), (400, &json!("invalid_grant")));
                "it was refused"
            };
            assert_alive(&env, tokens, &format!("trial {trial}, the caller")).await;
            only_password_is(&env, phone, CHANGE_TO, &[PASSWORD]).await;
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_password_change_leaves_nothing_of_the_account() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "deletion against change",
        TRIALS,
        // GIVEN a signed-in account
        async || phone_account(&env, &mut used).await,
        // WHEN it is deleted while the same app changes its password
        |(_, tokens, _)| {
            let (env, auth) = (env.clone(), bearer(tokens));
            async move { delete(&env, &auth, MERCHANT).await }
        },
        |(_, tokens, _)| {
            let (env, auth) = (env.clone(), bearer(tokens));
            async move { change(&env, &auth, CHANGE_TO).await }
        },
        // THEN the deletion took, whether the change went first or lost (401 or 503), unless the
        // change went first and the deletion then checked its password against the new one
        async |trial, (phone, tokens, user_id), deleted, changed| {
            if deleted.status == 400 {
                // AND then the deletion touched nothing: the account is the change's
                assert_eq!((changed.status, &deleted.body["field"]), (200, &json!("password")), "trial {trial}");
                assert_error(deleted, 400, "VALIDATION");
                assert_alive(&env, tokens, &format!("trial {trial}")).await;
                only_password_is(&env, phone, CHANGE_TO, &[PASSWORD]).await;
                return "the change went first, and the deletion was refused its old password";
            }
            assert_eq!(deleted.status, 204, "trial {trial}: {:?}", deleted.body);
            let outcome = if changed.status == 200 {
                "the change went first"
            } else {
                assert_ne!(changed.status, 400, "trial {trial}: {:?}", changed.body);
                assert_change_lost(changed);
                "the change lost"
            };
            // AND nothing of the account is left but its send logs and deletion record, and its
            // tokens are dead
            let left = left_of(&env, &[user_id, phone]).await;
            assert!(left.is_empty(), "trial {trial}: left {left:#?}");
            assert!(env.authenticate(&bearer(tokens)).await.is_err(), "trial {trial}");
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moves_to_two_new_numbers_at_once_leave_the_account_on_exactly_one() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "move against move",
        TRIALS,
        // GIVEN an account that asked to move to two new numbers, and the code each got
        async || {
            let (old, tokens, user_id) = phone_account(&env, &mut used).await;
            let auth = bearer(&tokens);
            let mut moves = Vec::new();
            for new in distinct_phones(&mut used, 2) {
                let body = json!({ "phone": new, "password": PASSWORD });
                assert_eq!(env.as_user(Endpoint::PhoneChange, &auth, body).await.status, 200);
                let code = env.latest_code(&new).await;
                moves.push((new, code));
            }
            (old, auth, user_id, moves)
        },
        // WHEN both codes are entered at once
        |(_, auth, _, moves)| confirm_move(&env, auth, &moves[0]),
        |(_, auth, _, moves)| confirm_move(&env, auth, &moves[1]),
        // THEN one moved the account and the other was told its code is no longer valid, or one
        // moved it after the other (from the number the first moved it to); the account is on the
        // number of a move that answered 200, which alone signs in and alone is claimed
        async |trial, (old, auth, user_id, moves), first, second| {
            let answers = [first, second];
            let on = profile(&env, auth).await["phone"].as_str().unwrap().to_owned();
            let won = moves.iter().position(|(new, _)| *new == on).expect("the account is on a new number");
            assert_eq!((answers[won].status, &answers[won].body["phone"]), (200, &json!(on)), "trial {trial}");
            let lost = answers[1 - won];
            if lost.status != 200 {
                assert_error(lost, 400, "CODE_EXPIRED");
            }
            assert_eq!(env.sign_in(&on, PASSWORD).await.status, 200, "trial {trial}");
            for number in [&moves[1 - won].0, old] {
                assert_eq!(env.sign_in(number, PASSWORD).await.body["error"], "invalid_grant", "trial {trial}");
            }
            let claimed = item_of(&env, &on, "CLAIM").await.map(|claim| text(&claim, "userId"));
            assert_eq!(claimed.as_deref(), Some(user_id.as_str()), "trial {trial}");
            for number in [&moves[1 - won].0, old] {
                assert!(item_of(&env, number, "CLAIM").await.is_none(), "trial {trial}: {number} is claimed");
            }
            match (lost.status, won) {
                (200, _) => "one after the other",
                (_, 0) => "the first move won",
                _ => "the second move won",
            }
        },
    )
    .await;
}

fn confirm_move(
    env: &Arc<TestEnv>,
    auth: &str,
    (new, code): &(String, String),
) -> impl Future<Output = Answer> + Send + use<> {
    let (env, auth, body) = (env.clone(), auth.to_owned(), json!({ "phone": new, "code": code }));
    async move { env.as_user(Endpoint::PhoneChange, &auth, body).await }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_confirmed_while_a_new_address_is_asked_for_leaves_only_the_newest_link_working() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "confirmation against a new link",
        TRIALS,
        // GIVEN a signed-in account with a link for a first address
        async || {
            let (_, tokens, _) = phone_account(&env, &mut used).await;
            let auth = bearer(&tokens);
            let (first, second) = (fresh_email().to_lowercase(), fresh_email().to_lowercase());
            let link = link_to(&env, &auth, &first).await;
            (auth, first, second, link)
        },
        // WHEN the first link's button is pressed while a link for a second address is asked for
        |(_, _, _, link)| {
            let (env, link) = (env.clone(), link.clone());
            async move { env.press_link_button(&link).await }
        },
        |(auth, _, second, _)| {
            let (env, auth, body) = (env.clone(), auth.clone(), json!({ "email": second }));
            async move { env.as_user(Endpoint::EmailAdd, &auth, body).await }
        },
        // THEN the new link was sent, and the first address is confirmed only if its link went
        // first (otherwise the page says the link is not valid)
        async |trial, (auth, first, second, link), pressed, added| {
            assert_eq!(added.status, 200, "trial {trial}: {:?}", added.body);
            let shown = profile(&env, auth).await;
            assert_eq!(shown["pendingEmail"], json!(second), "trial {trial}");
            let outcome = match pressed.status {
                200 => {
                    assert_eq!(shown["email"], json!(first), "trial {trial}");
                    "the first link went first"
                }
                _ => {
                    assert_eq!(pressed.status, 400, "trial {trial}: {}", pressed.text);
                    assert!(pressed.text.contains("This link is not valid"), "trial {trial}: {}", pressed.text);
                    assert_eq!(shown["email"], Value::Null, "trial {trial}");
                    "the new link went first"
                }
            };
            // AND the newest link confirms the second address, and the first link is dead
            let confirmed = env.press_link_button(&env.latest_link(second).await).await;
            assert_eq!(confirmed.status, 200, "trial {trial}: {}", confirmed.text);
            assert_eq!(profile(&env, auth).await["email"], json!(second), "trial {trial}");
            assert_eq!(env.press_link_button(link).await.status, 400, "trial {trial}");
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_by_the_old_address_racing_an_email_change_never_outlives_the_change() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "email change against reset by the old address",
        TRIALS,
        // GIVEN an account with a confirmed address, a link for a new one, and a reset code sent
        // to the old one
        async || {
            let (phone, old, tokens, _) = account_with_email(&env, &mut used).await;
            let new = fresh_email().to_lowercase();
            let link = link_to(&env, &bearer(&tokens), &new).await;
            let code = emailed_reset_code(&env, &old).await;
            (phone, old, new, link, code)
        },
        // WHEN the new address's link is pressed while the old address's code resets the password
        |(_, _, _, link, _)| {
            let (env, link) = (env.clone(), link.clone());
            async move { env.press_link_button(&link).await }
        },
        |(_, old, _, _, code)| {
            let (env, old, code) = (env.clone(), old.clone(), code.clone());
            async move { reset_by_email(&env, &old, &code, RESET_TO).await }
        },
        // THEN the change took; the reset took only if it went first, else answered CODE_EXPIRED
        async |trial, (phone, old, new, _, code), pressed, reset| {
            assert_eq!(pressed.status, 200, "trial {trial}: {}", pressed.text);
            let (password, refused, outcome) = if reset.status == 200 {
                (RESET_TO, PASSWORD, "the reset went first")
            } else {
                assert_error(reset, 400, "CODE_EXPIRED");
                (PASSWORD, RESET_TO, "the reset was refused")
            };
            only_password_is(&env, phone, password, &[refused]).await;
            only_password_is(&env, new, password, &[]).await;
            // AND the old address is no longer the account's: it signs in to nothing, holds no
            // claim and no code, and the code resets nothing now
            assert_eq!(env.sign_in(old, password).await.body["error"], "invalid_grant", "trial {trial}");
            assert_released(&env, old, trial).await;
            assert_error(&reset_by_email(&env, old, code, "Late-Reset-Gull-19").await, 400, "CODE_EXPIRED");
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_by_the_old_number_racing_a_phone_change_never_outlives_the_move() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "phone change against reset by the old number",
        TRIALS,
        // GIVEN an account with a code to move to a new number, and a reset code sent to the old one
        async || {
            let (old, tokens, _) = phone_account(&env, &mut used).await;
            let auth = bearer(&tokens);
            let code = reset_code(&env, &old).await;
            let [new] = <[String; 1]>::try_from(distinct_phones(&mut used, 1)).unwrap();
            let body = json!({ "phone": new, "password": PASSWORD });
            assert_eq!(env.as_user(Endpoint::PhoneChange, &auth, body).await.status, 200);
            let move_code = env.latest_code(&new).await;
            (old, auth, (new, move_code), code)
        },
        // WHEN the move is confirmed while the old number's code resets the password
        |(_, auth, change, _)| confirm_move(&env, auth, change),
        |(old, _, _, code)| {
            let (env, old, code) = (env.clone(), old.clone(), code.clone());
            async move { env.reset(&old, &code, RESET_TO).await }
        },
        // THEN the reset took only if it went first (and then ended the session, so a move sent
        // after it was a 401), else answered CODE_EXPIRED
        async |trial, (old, _, (new, _), code), moved, reset| {
            if moved.status == 401 {
                // AND a move the reset signed out changed nothing: the account is on the old
                // number with the reset's password, and the new number is nobody's
                assert_eq!((reset.status, &moved.body["error"]), (200, &json!("UNAUTHORIZED")), "trial {trial}");
                only_password_is(&env, old, RESET_TO, &[PASSWORD]).await;
                assert_eq!(env.sign_in(new, RESET_TO).await.body["error"], "invalid_grant", "trial {trial}");
                assert!(item_of(&env, new, "CLAIM").await.is_none(), "trial {trial}");
                return "the reset went first and signed the move out";
            }
            assert_eq!(moved.status, 200, "trial {trial}: {:?}", moved.body);
            let (password, refused, outcome) = if reset.status == 200 {
                (RESET_TO, PASSWORD, "the reset went first")
            } else {
                assert_error(reset, 400, "CODE_EXPIRED");
                (PASSWORD, RESET_TO, "the reset was refused")
            };
            only_password_is(&env, new, password, &[refused]).await;
            // AND the old number is no longer the account's: no claim, no code, and the code
            // resets nothing now
            assert_eq!(env.sign_in(old, password).await.body["error"], "invalid_grant", "trial {trial}");
            assert_released(&env, old, trial).await;
            assert_error(&env.reset(old, code, "Late-Reset-Gull-19").await, 400, "CODE_EXPIRED");
            outcome
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deletion_racing_a_new_address_leaves_no_link_or_claim_of_the_account() {
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "deletion against a new link",
        TRIALS,
        // GIVEN a signed-in account
        async || {
            let (phone, tokens, user_id) = phone_account(&env, &mut used).await;
            (phone, tokens, user_id, fresh_email().to_lowercase())
        },
        // WHEN it is deleted while it asks for a link to a new address
        |(_, tokens, _, _)| {
            let (env, auth) = (env.clone(), bearer(tokens));
            async move { delete(&env, &auth, MERCHANT).await }
        },
        |(_, tokens, _, email)| {
            let (env, auth, body) = (env.clone(), bearer(tokens), json!({ "email": email }));
            async move { env.as_user(Endpoint::EmailAdd, &auth, body).await }
        },
        // THEN the deletion took, and a link asked for after it was refused as the account is gone
        async |trial, (phone, _, user_id, email), deleted, added| {
            assert_eq!(deleted.status, 204, "trial {trial}: {:?}", deleted.body);
            let outcome = if added.status == 200 { "the link went first" } else { "the link was refused" };
            if added.status != 200 {
                assert_error(added, 401, "UNAUTHORIZED");
            }
            // AND no link token, index entry or anything else of the account is left
            let left = left_of(&env, &[user_id, phone, email]).await;
            assert!(left.is_empty(), "trial {trial}: left {left:#?}");
            outcome
        },
    )
    .await;
}

/// A sign-in with the password and the recovery code `code`: an `aal2` session.
async fn signed_in_with_recovery_code(env: &TestEnv, phone: &str, code: &str) -> Answer {
    let asked = env.sign_in(phone, PASSWORD).await;
    assert_eq!(asked.status, 403, "{:?}", asked.body);
    let body = json!({ "grant_type": "mfa", "mfa_token": asked.body["data"]["mfaToken"], "recovery_code": code });
    let tokens = env.call(Endpoint::Token, body, &[]).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_step_up_racing_a_password_change_leaves_another_session_raised_or_working() {
    use registration::ports::Clock;
    let (env, _) = roomy_env().await;
    let mut used = HashSet::new();
    races(
        "change against step-up",
        FEWER_TRIALS,
        // GIVEN an account with an authenticator, signed in with both elements on two devices
        async || {
            let (phone, _, user_id) = phone_account(&env, &mut used).await;
            let enrolled = env.enrol_factors(&user_id, &phone).await;
            let caller = signed_in_with_recovery_code(&env, &phone, &enrolled.recovery_codes[0]).await;
            let other = signed_in_with_recovery_code(&env, &phone, &enrolled.recovery_codes[1]).await;
            let code = enrolled.authenticator.code_at(env.clock.now());
            (phone, caller, other, code)
        },
        // WHEN one device changes the password while the other steps its session up
        |(_, caller, _, _)| {
            let (env, auth) = (env.clone(), bearer(caller));
            async move { change(&env, &auth, CHANGE_TO).await }
        },
        |(_, _, other, code)| {
            let body = json!({
                "grant_type": "step_up", "refresh_token": refresh_token(other), "password": PASSWORD, "otp": code,
            });
            let env = env.clone();
            async move { env.call(Endpoint::Token, body, &[]).await }
        },
        // THEN if the change took, the other device has nothing that works, raised or not; if it
        // lost (its transaction met the step-up's), nothing changed and the old password stands
        async |trial, (phone, _, other, _), changed, stepped| {
            let what = format!("trial {trial}");
            assert!(stepped.status == 200 || stepped.body["error"] == "invalid_grant", "{what}: {:?}", stepped.body);
            if changed.status == 200 {
                let outcome = nothing_outlives(&env, stepped, other, &what).await;
                // (a right password on such an account asks for the factor)
                assert_eq!(env.sign_in(phone, CHANGE_TO).await.body["error"], "mfa_required", "{what}");
                assert_eq!(env.sign_in(phone, PASSWORD).await.body["error"], "invalid_grant", "{what}");
                outcome
            } else {
                assert_change_lost(changed);
                assert_eq!(env.sign_in(phone, PASSWORD).await.body["error"], "mfa_required", "{what}");
                assert_eq!(env.sign_in(phone, CHANGE_TO).await.body["error"], "invalid_grant", "{what}");
                "the change lost"
            }
        },
    )
    .await;
}
