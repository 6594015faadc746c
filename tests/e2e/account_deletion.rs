//! A user deletes their account from the app (and exports their data first): nothing of it is left
//! behind, every token dies at once, and the phone and address are free for a new account.

use std::sync::Arc;

use e2e::{
    Answer, Endpoint, Item, MERCHANT, TestEnv, assert_error, bearer, extract_code, fresh_email, fresh_phone,
    in_parallel,
};
use registration::adapters::dynamodb::events::EVENTS_PREFIX;
use registration::ports::DeletionChannel;
use registration::webhooks::event::{AccountEvent, EventRecord};
use serde_json::{Value, json};

const PASSWORD: &str = "Juniper-Walrus-27";

async fn delete(env: &TestEnv, auth: &str, password: &str) -> Answer {
    env.as_user(Endpoint::AccountDelete, auth, json!({ "password": password })).await
}

async fn export(env: &TestEnv, auth: &str) -> Answer {
    env.as_user(Endpoint::AccountExport, auth, Value::Null).await
}

fn refresh_token(answer: &Answer) -> String {
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

/// Every attribute of an item, keys included, as text.
fn texts(item: &Item) -> Vec<String> {
    item.values()
        .map(|v| v.as_s().cloned().or_else(|_| v.as_n().cloned()).unwrap_or_else(|_| format!("{v:?}")))
        .collect()
}

/// Items of the table that mention `needle` anywhere.
async fn items_mentioning(env: &TestEnv, needle: &str) -> Vec<Item> {
    env.items().await.into_iter().filter(|item| texts(item).iter().any(|t| t.contains(needle))).collect()
}

/// What a deletion leaves naming the account, by design and without personal data: its deletion
/// record (`DELETIONS#…`) and the partner's webhook events that name no phone or address
/// (`EVENTS#…`: `account.deleted`, a password change; the ones naming a contact are erased).
fn left_by_design(item: &Item) -> bool {
    let texts = texts(item);
    let names_contact = ["account.created", "account.phone_changed", "account.email_changed"];
    texts.iter().any(|t| t.starts_with("DELETIONS#"))
        || (texts.iter().any(|t| t.starts_with(EVENTS_PREFIX))
            && !texts.iter().any(|t| names_contact.contains(&t.as_str())))
}

/// The webhook events in the table about `user_id`, as the dispatcher will read them.
async fn events_about(env: &TestEnv, user_id: &str) -> Vec<EventRecord> {
    env.events_about(user_id).await
}

/// A phone account with everything an account can have: a confirmed address, a pending one, details,
/// several sessions, rotated refresh tokens, codes. Its first token response and its user id.
async fn full_account(env: &TestEnv, phone: &str, email: &str) -> (Answer, String) {
    let tokens = env.registered(phone, PASSWORD).await;
    let auth = bearer(&tokens);
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await;
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": fresh_email() })).await;
    let details = json!({ "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-12", "country": "GB",
        "city": "London", "address": "1 High Street", "postalCode": "N1 9GU" });
    env.clock.advance(30);
    assert_eq!(env.as_user(Endpoint::ProfileUpdate, &auth, details).await.status, 204);
    let other = env
        .call(
            Endpoint::Token,
            json!({ "grant_type": "password", "username": phone, "password": PASSWORD }),
            &[("x-fingerprint", Some("tablet-1"))],
        )
        .await;
    let rotated = env.refresh(&refresh_token(&other)).await;
    assert_eq!(env.refresh(&refresh_token(&rotated)).await.status, 200);
    env.wait_out_cooldown();
    env.forgot(phone).await;
    let profile = env.as_user(Endpoint::ProfileGet, &auth, Value::Null).await;
    let user_id = profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    (tokens, user_id)
}

#[tokio::test]
async fn a_deleted_account_leaves_nothing_its_tokens_die_and_its_phone_signs_up_as_a_new_user() {
    // GIVEN an account with everything an account can have, signed in on two devices
    let env = TestEnv::new().await;
    let (phone, email, unknown) = (fresh_phone(), fresh_email(), fresh_phone());
    let (tokens, user_id) = full_account(&env, &phone, &email).await;
    let auth = bearer(&tokens);
    assert!(!items_mentioning(&env, &user_id).await.is_empty());

    // WHEN the user deletes it with their password
    let deleted = delete(&env, &auth, PASSWORD).await;

    // THEN 204, and the old access token is refused at once, the old refresh token too
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_error(&export(&env, &auth).await, 401, "UNAUTHORIZED");
    assert_eq!(env.refresh(&refresh_token(&tokens)).await.body["error"], "invalid_grant");
    // AND nothing in the table names the account but its deletion record and the partner's
    // events that name no phone or address (the level its details reached, and `account.deleted`):
    // the ones that named its phone and address went with it
    let left = items_mentioning(&env, &user_id).await;
    assert_eq!(left.len(), 3, "{left:#?}");
    assert!(left.iter().all(left_by_design), "{left:#?}");
    assert!(left.iter().flat_map(texts).all(|t| !t.contains(&phone[1..]) && !t.contains(&email.to_lowercase())));
    let events = events_about(&env, &user_id).await;
    assert_eq!(
        events.iter().map(|e| (e.event.kind(), e.partner_id.as_str())).collect::<Vec<_>>(),
        [("account.kyc_level_changed", MERCHANT), ("account.deleted", MERCHANT)]
    );
    let records = env.app.deletions.deletion_records(MERCHANT).await.unwrap();
    assert_eq!(
        records.iter().filter(|r| r.user_id == user_id).map(|r| r.channel).collect::<Vec<_>>(),
        [DeletionChannel::App]
    );
    // AND the phone is named only by its send log (the per-number limits, gone within a day)
    let naming_phone = items_mentioning(&env, &phone).await;
    assert!(naming_phone.iter().all(|i| texts(i).iter().any(|t| t.starts_with("SENDLOG#"))), "{naming_phone:#?}");
    assert!(
        items_mentioning(&env, &email.to_lowercase())
            .await
            .iter()
            .all(|i| texts(i).iter().any(|t| t.starts_with("SENDLOG#")))
    );
    // AND sign-in answers exactly as for a number and an address nobody has
    let (by_phone, by_unknown) = (env.sign_in(&phone, PASSWORD).await, env.sign_in(&unknown, PASSWORD).await);
    assert_eq!((by_phone.status, &by_phone.body), (by_unknown.status, &by_unknown.body));
    assert_eq!(env.sign_in(&email, PASSWORD).await.body, env.sign_in(&fresh_email(), PASSWORD).await.body);
    // AND the owner was told, without a code or a link
    let notice = env.sms_to(&phone).await.last().cloned().unwrap();
    assert!(notice.starts_with("Your account was deleted"), "{notice}");
    assert!(extract_code(&notice).is_none());
    assert_eq!(env.emails_to(&email.to_lowercase()).await.last().unwrap().0, "Your account was deleted");

    // WHEN the phone signs up again
    env.wait_out_cooldown();
    let fresh = env.registered(&phone, "Another-Pass-51").await;

    // THEN it is a new user, whose export holds none of the old data
    let exported = export(&env, &bearer(&fresh)).await;
    assert_eq!(exported.status, 200, "{:?}", exported.body);
    assert_ne!(exported.body["userId"], json!(format!("usr:{user_id}")));
    assert_eq!(exported.body["email"], Value::Null);
    assert_eq!(exported.body["pendingEmail"], Value::Null);
    assert_eq!(exported.body["personalDetails"]["firstName"], Value::Null);
    assert_eq!(exported.body["sessions"].as_array().unwrap().len(), 1);
    // AND the address is free too: an email-first signup with it makes another new account
    let by_email = env.email_account(&email, "Another-Pass-51").await;
    let by_email = export(&env, &bearer(&by_email)).await;
    assert_ne!(by_email.body["userId"], exported.body["userId"]);
    assert_ne!(by_email.body["userId"], json!(format!("usr:{user_id}")));
}

#[tokio::test]
async fn the_export_holds_everything_kept_about_the_user_and_no_secret() {
    // GIVEN an account with everything an account can have
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    let (tokens, user_id) = full_account(&env, &phone, &email).await;

    // WHEN it exports its data
    let exported = export(&env, &bearer(&tokens)).await;

    // THEN it is a JSON download named after the user, with the account's data and sessions
    assert_eq!(exported.status, 200, "{:?}", exported.body);
    assert_eq!(
        exported.headers["content-disposition"],
        format!("attachment; filename=\"account-{user_id}.json\"").as_str()
    );
    let body = &exported.body;
    assert_eq!((&body["phone"], &body["phoneVerified"]), (&json!(phone), &json!(true)));
    assert_eq!((&body["email"], &body["emailVerified"]), (&json!(email.to_lowercase()), &json!(true)));
    assert!(body["pendingEmail"].is_string());
    assert_eq!(body["kycLevel"], "KYC_0");
    assert_eq!(body["personalDetails"]["lastName"], "Lima");
    assert_eq!(body["partner"], MERCHANT);
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z') && body["updatedAt"] != body["createdAt"]);
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(sessions.iter().any(|s| s["fingerprint"] == "tablet-1"));
    assert_eq!(body["consents"], json!([]));
    // AND nothing secret: no hash, code, token or token hash
    let text = exported.text.to_lowercase();
    for secret in ["$argon2", "hash", "password", "token", "\"mac\"", "codeid"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_parallel_deletes_give_one_204_and_no_5xx() {
    // GIVEN an account
    let env = Arc::new(TestEnv::new().await);
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);

    // WHEN two copies of the function delete it at once
    let calls = (0..2)
        .map(|_| {
            let (env, auth) = (env.clone(), auth.clone());
            async move { delete(&env, &auth, PASSWORD).await }
        })
        .collect();
    let answers = in_parallel(calls).await;

    // THEN one deleted it and the other was told the token no longer works
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 401], "{answers:?}");
    assert_eq!(env.app.deletions.deletion_records(MERCHANT).await.unwrap().len(), 1);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_deletion_stopped_between_its_steps_leaves_a_whole_account_and_the_next_one_finishes() {
    // GIVEN an account, and a store that fails the deletion's transaction once, after the sweep
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    let (tokens, user_id) = full_account(&env, &phone, &email).await;
    env.deletions.fail_next_erase();

    // WHEN the user deletes the account
    let failed = delete(&env, &bearer(&tokens), PASSWORD).await;

    // THEN the answer says to try again, and the account is whole: it signs in with its phone and
    // its address, and its phone is not free for a new signup
    assert_error(&failed, 503, "UNAVAILABLE");
    let again = env.sign_in(&phone, PASSWORD).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(env.sign_in(&email, PASSWORD).await.status, 200);
    assert!(env.app.deletions.deletion_records(MERCHANT).await.unwrap().is_empty());
    // AND the partner's events about it are whole too: the sweep took none of them
    let kinds: Vec<_> = events_about(&env, &user_id).await.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["account.created", "account.email_changed", "account.kyc_level_changed"]);

    // WHEN the user tries again from the session they signed in to
    let deleted = delete(&env, &bearer(&again), PASSWORD).await;

    // THEN it is done, nothing of the account is left but its record and its event, and the
    // partner has exactly one `account.deleted`: the stopped attempt wrote none
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let left = items_mentioning(&env, &user_id).await;
    assert!(left.iter().all(left_by_design), "{left:#?}");
    let events = events_about(&env, &user_id).await;
    let deleted = events.iter().filter(|e| e.event == AccountEvent::Deleted).count();
    assert_eq!(deleted, 1, "{events:?}");
    assert_eq!(left.len(), 1 + events.len(), "{left:#?}");
    assert_eq!(env.sign_in(&phone, PASSWORD).await.body["error"], "invalid_grant");
    env.wait_out_cooldown();
    env.registered(&phone, "Another-Pass-51").await;
}

#[tokio::test]
async fn a_wrong_or_missing_password_another_partners_token_and_a_deleted_accounts_token_are_4xx() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let auth = bearer(&env.registered(&phone, PASSWORD).await);

    // A wrong password: 400 on `password`, nothing touched
    let wrong = delete(&env, &auth, "Not-the-password-1").await;
    assert_error(&wrong, 400, "VALIDATION");
    assert_eq!(wrong.body["field"], "password");
    // No body, a body without the password
    assert_eq!(env.as_user(Endpoint::AccountDelete, &auth, Value::Null).await.status, 400);
    assert_eq!(env.as_user(Endpoint::AccountDelete, &auth, json!({})).await.status, 400);
    // No token; the token under another partner
    assert_error(&env.call(Endpoint::AccountDelete, json!({ "password": PASSWORD }), &[]).await, 401, "UNAUTHORIZED");
    let elsewhere = [("authorization", Some(auth.as_str())), ("x-merchant-id", Some(e2e::SEED_003_MERCHANT))];
    assert_eq!(env.call(Endpoint::AccountDelete, json!({ "password": PASSWORD }), &elsewhere).await.status, 401);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200);
    // A deleted account's token
    assert_eq!(delete(&env, &auth, PASSWORD).await.status, 204);
    assert_error(&delete(&env, &auth, PASSWORD).await, 401, "UNAUTHORIZED");
    assert_error(&export(&env, &auth).await, 401, "UNAUTHORIZED");
}

/// Code items (`CODE#…`) that hold `user_id`.
async fn codes_holding(env: &TestEnv, user_id: &str) -> Vec<Item> {
    env.items()
        .await
        .into_iter()
        .filter(|item| {
            item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with("CODE#"))
                && item.get("userId").and_then(|v| v.as_s().ok()).is_some_and(|id| id == user_id)
        })
        .collect()
}

async fn ask_phone_change(env: &TestEnv, auth: &str, phone: &str) -> Answer {
    let answer = env.as_user(Endpoint::PhoneChange, auth, json!({ "phone": phone, "password": PASSWORD })).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer
}

#[tokio::test]
async fn a_deletion_erases_the_codes_of_a_pending_phone_change_under_the_new_number_and_a_taken_one() {
    // GIVEN an account that asked to move to a free number (a code there holds its id) and to a number
    // another account holds (a decoy there holds its id), and asked for a reset code before moving
    let env = TestEnv::new().await;
    let (phone, free, taken, moved_to) = (fresh_phone(), fresh_phone(), fresh_phone(), fresh_phone());
    let auth = bearer(&env.registered(&phone, PASSWORD).await);
    env.registered(&taken, "Other-Owner-83").await;
    let profile = env.as_user(Endpoint::ProfileGet, &auth, Value::Null).await;
    let user_id = profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    env.wait_out_cooldown();
    env.forgot(&phone).await;
    ask_phone_change(&env, &auth, &moved_to).await;
    let code = env.latest_code(&moved_to).await;
    let moved = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": moved_to, "code": code })).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    ask_phone_change(&env, &auth, &free).await;
    ask_phone_change(&env, &auth, &taken).await;
    let pending = codes_holding(&env, &user_id).await;
    for number in [&free, &taken] {
        assert!(pending.iter().any(|code| texts(code).iter().any(|t| t.contains(number.as_str()))), "{pending:#?}");
    }

    // WHEN the account is deleted
    assert_eq!(delete(&env, &auth, PASSWORD).await.status, 204);

    // THEN no code item holds its id, and nothing but the deletion record and event names it
    let codes = codes_holding(&env, &user_id).await;
    assert!(codes.is_empty(), "{codes:#?}");
    let left = items_mentioning(&env, &user_id).await;
    assert_eq!(left.len(), 2, "{left:#?}");
    assert!(left.iter().all(left_by_design), "{left:#?}");
    // AND the other account keeps its number
    assert_eq!(env.sign_in(&taken, "Other-Owner-83").await.status, 200);
}

#[tokio::test]
async fn a_deletion_leaves_another_accounts_code_for_the_same_new_number_working() {
    // GIVEN two accounts that asked, one after the other, to move to the same free number: the second
    // code replaced the first
    let env = TestEnv::new().await;
    let (first, second, new) = (fresh_phone(), fresh_phone(), fresh_phone());
    let first_auth = bearer(&env.registered(&first, PASSWORD).await);
    let second_auth = bearer(&env.registered(&second, PASSWORD).await);
    ask_phone_change(&env, &first_auth, &new).await;
    env.wait_out_cooldown();
    ask_phone_change(&env, &second_auth, &new).await;
    let code = env.latest_code(&new).await;

    // WHEN the first account is deleted
    assert_eq!(delete(&env, &first_auth, PASSWORD).await.status, 204);

    // THEN the second account's code still moves it to the number
    let moved = env.as_user(Endpoint::PhoneChange, &second_auth, json!({ "phone": new, "code": code })).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(env.sign_in(&new, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_erasure_the_table_refuses_writes_no_deletion_event_and_the_one_that_commits_writes_exactly_one() {
    use registration::ports::{Clock, DeletionRecord, Erasure, StoreError};
    // GIVEN an account, read as a deletion reads it, and a sign-in that lands after that read
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let profile = env.as_user(Endpoint::ProfileGet, &bearer(&tokens), Value::Null).await;
    let user_id = profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    let read = env.app.store.account(&user_id).await.unwrap().unwrap();
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200);

    // WHEN the erasure prepared from that read reaches the table, its event with it
    let record = DeletionRecord {
        user_id: user_id.clone(),
        merchant_id: MERCHANT.to_owned(),
        deleted_at: env.clock.now(),
        channel: DeletionChannel::App,
    };
    let refused = env.app.deletions.erase_account(Erasure { account: &read, record: &record }).await;

    // THEN the table refuses the whole transaction: the account stays, and of its events only
    // `account.created` exists
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert!(env.app.store.account(&user_id).await.unwrap().is_some());
    let kinds: Vec<_> = events_about(&env, &user_id).await.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["account.created"]);

    // WHEN the user deletes the account
    assert_eq!(delete(&env, &bearer(&tokens), PASSWORD).await.status, 204);

    // THEN the partner's outbox holds exactly one event for it: `account.deleted`, with the id,
    // numbered after `account.created` (which named the phone, and went with the account)
    let events = events_about(&env, &user_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0].event, events[0].partner_id.as_str()), (&AccountEvent::Deleted, MERCHANT));
    let body: Value = serde_json::from_str(&events[0].body(Default::default())).unwrap();
    assert_eq!(body["type"], "account.deleted");
    assert_eq!(body["data"], json!({ "userId": user_id, "sequence": 2 }));
}
