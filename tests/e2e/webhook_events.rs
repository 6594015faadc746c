//! The partner's webhook outbox (issue 28): every change a partner must know about writes its event
//! in the change's own transaction, numbered in the order the changes committed; a change that
//! loses writes none; and an erasure takes the events that name a phone or an address with it.

use e2e::{Answer, Endpoint, MERCHANT, TestEnv, bearer, fresh_email, fresh_phone};
use registration::webhooks::event::{Disclosure, EventRecord};
use serde_json::{Value, json};

const PASSWORD: &str = "Quartz-Lantern-38";
const CHANGED: &str = "Quartz-Lantern-39";

fn user_id(env_profile: &Answer) -> String {
    env_profile.body["userId"].as_str().unwrap().trim_start_matches("usr:").to_owned()
}

async fn signed_up(env: &TestEnv, phone: &str) -> (String, String) {
    let tokens = env.registered(phone, PASSWORD).await;
    let auth = bearer(&tokens);
    let profile = env.as_user(Endpoint::ProfileGet, &auth, Value::Null).await;
    (auth, user_id(&profile))
}

/// The ids of the account's sessions other than the caller's, as the app lists them.
async fn other_sessions(env: &TestEnv, auth: &str) -> Vec<String> {
    let listed = env.as_user(Endpoint::SessionsList, auth, Value::Null).await;
    let sessions = listed.body["sessions"].as_array().unwrap().iter();
    sessions.filter(|s| s["current"] == false).map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

fn kinds(events: &[EventRecord]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.kind()).collect()
}

fn data(event: &EventRecord, disclosure: Disclosure) -> Value {
    serde_json::from_str::<Value>(&event.body(disclosure)).unwrap()["data"].clone()
}

#[tokio::test]
async fn each_change_a_partner_must_know_about_writes_one_event_numbered_in_commit_order() {
    // GIVEN a user who signs up with a phone
    let env = TestEnv::new().await;
    let (phone, email, new_phone) = (fresh_phone(), fresh_email(), fresh_phone());
    let (auth, user) = signed_up(&env, &phone).await;

    // WHEN they confirm an address, change the password, and move to a new number
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await.status, 200);
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    let changed =
        env.as_user(Endpoint::PasswordChange, &auth, json!({ "oldPassword": PASSWORD, "newPassword": CHANGED })).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let asked = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new_phone, "password": CHANGED })).await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let code = env.latest_code(&new_phone).await;
    let moved = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new_phone, "code": code })).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);

    // THEN the partner's outbox holds one event per change, numbered 1 to 4 in that order
    let events = env.events_about(&user).await;
    assert_eq!(
        kinds(&events),
        ["account.created", "account.email_changed", "account.password_changed", "account.phone_changed"]
    );
    assert_eq!(events.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(events.iter().all(|e| e.partner_id == MERCHANT));
    // AND each says what changed, contact details masked unless the endpoint takes them in full
    let masked = |e164: &str| format!("{}…{}", &e164[..4], &e164[e164.len() - 2..]);
    assert_eq!(
        data(&events[0], Disclosure::Masked),
        json!({ "userId": user, "sequence": 1, "signedUpWith": "phone", "phone": masked(&phone) })
    );
    assert_eq!(data(&events[1], Disclosure::Full)["email"], email.to_lowercase());
    assert_eq!(data(&events[1], Disclosure::Full)["previousEmail"], Value::Null);
    assert_eq!(data(&events[2], Disclosure::Masked), json!({ "userId": user, "sequence": 3, "how": "changed" }));
    assert_eq!(
        data(&events[3], Disclosure::Full),
        json!({ "userId": user, "sequence": 4, "phone": new_phone, "previousPhone": phone })
    );
    assert!(!events.iter().any(|e| e.body(Disclosure::Masked).contains(&phone[4..phone.len() - 2])));
}

#[tokio::test]
async fn a_reset_and_an_email_first_signup_report_themselves_too() {
    // GIVEN an email-first account and a phone account
    let env = TestEnv::new().await;
    let email = fresh_email();
    let tokens = env.email_account(&email, PASSWORD).await;
    let profile = env.as_user(Endpoint::ProfileGet, &bearer(&tokens), Value::Null).await;
    let email_user = user_id(&profile);
    let phone = fresh_phone();
    let (_, phone_user) = signed_up(&env, &phone).await;

    // WHEN the phone account's password is reset by a code
    env.wait_out_cooldown();
    assert_eq!(env.forgot(&phone).await.status, 200);
    let code = env.latest_code(&phone).await;
    assert_eq!(env.reset(&phone, &code, CHANGED).await.status, 200);

    // THEN the email-first account's one event is its creation, with the address
    let events = env.events_about(&email_user).await;
    assert_eq!(kinds(&events), ["account.created"]);
    assert_eq!(data(&events[0], Disclosure::Full)["email"], email.to_lowercase());
    assert_eq!(data(&events[0], Disclosure::Full)["signedUpWith"], "email");
    // AND the reset is reported as one
    let events = env.events_about(&phone_user).await;
    assert_eq!(kinds(&events), ["account.created", "account.password_changed"]);
    assert_eq!(data(&events[1], Disclosure::Masked)["how"], "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_that_race_write_an_event_only_for_each_one_that_took() {
    // GIVEN a signed-in user
    let env = std::sync::Arc::new(TestEnv::new().await);
    let (auth, user) = signed_up(&env, &fresh_phone()).await;

    // WHEN four password changes from the same session run at once
    let change = |new: &'static str| {
        let (env, auth) = (env.clone(), auth.clone());
        tokio::spawn(async move {
            env.as_user(Endpoint::PasswordChange, &auth, json!({ "oldPassword": PASSWORD, "newPassword": new })).await
        })
    };
    let racing =
        [change("Quartz-Lantern-40"), change("Quartz-Lantern-41"), change("Quartz-Lantern-42"), change(CHANGED)];
    let mut took = 0;
    for answer in racing {
        let answer = answer.await.unwrap();
        took += usize::from(answer.status == 200);
    }

    // THEN one took, and the outbox holds one `account.password_changed`, numbered after the
    // creation: the losers' transactions, events included, were refused whole
    assert_eq!(took, 1);
    let events = env.events_about(&user).await;
    assert_eq!(kinds(&events), ["account.created", "account.password_changed"]);
    assert_eq!(events.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
}

#[tokio::test]
async fn an_erasure_takes_the_events_that_name_a_phone_or_address_and_keeps_the_rest() {
    // GIVEN an account that signed up by phone, confirmed an address and changed its password
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    let (auth, user) = signed_up(&env, &phone).await;
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await.status, 200);
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    let changed =
        env.as_user(Endpoint::PasswordChange, &auth, json!({ "oldPassword": PASSWORD, "newPassword": CHANGED })).await;
    assert_eq!(changed.status, 200);

    // WHEN the user deletes the account
    let deleted = env.as_user(Endpoint::AccountDelete, &auth, json!({ "password": CHANGED })).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);

    // THEN the events that named the phone or the address are gone with it, the others stay for
    // the partner, `account.deleted` last
    let events = env.events_about(&user).await;
    assert_eq!(kinds(&events), ["account.password_changed", "account.deleted"]);
    assert_eq!(events.iter().map(|e| e.sequence).collect::<Vec<_>>(), [3, 4]);
    // AND no item of the table names the account's phone or address in an event or its index
    let items = env.items().await;
    let texts = |item: &e2e::Item| item.values().filter_map(|v| v.as_s().ok().cloned()).collect::<Vec<_>>();
    let leaks: Vec<_> = items
        .iter()
        .filter(|item| {
            let texts = texts(item);
            texts.iter().any(|t| t.starts_with("EVENT"))
                && texts.iter().any(|t| t.contains(&phone) || t.contains(&email.to_lowercase()))
        })
        .collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
}

#[tokio::test]
async fn ending_sessions_and_reaching_kyc_0_report_themselves() {
    // GIVEN a user signed in on three devices
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), fresh_email());
    let (auth, user) = signed_up(&env, &phone).await;
    env.sign_in(&phone, PASSWORD).await;
    env.sign_in(&phone, PASSWORD).await;

    // WHEN from the first they end one other session by its id, then every other
    let other = other_sessions(&env, &auth).await.remove(0);
    assert_eq!(env.end_session(&auth, &other).await.status, 204);
    assert_eq!(env.as_user(Endpoint::SessionsEndOthers, &auth, Value::Null).await.status, 204);
    // AND, with nothing left to end, once more (no event: nothing ended)
    assert_eq!(env.as_user(Endpoint::SessionsEndOthers, &auth, Value::Null).await.status, 204);

    // WHEN they confirm an address and complete their details (KYC_0), then change one detail
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await.status, 200);
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    let details = json!({ "firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-12", "country": "GB",
        "city": "London", "address": "1 High Street", "postalCode": "N1 9GU" });
    assert_eq!(env.as_user(Endpoint::ProfileUpdate, &auth, details).await.status, 204);
    assert_eq!(env.as_user(Endpoint::ProfileUpdate, &auth, json!({ "city": "Leeds" })).await.status, 204);

    // THEN the partner is told of each session end and of the level reached, and of nothing else:
    // the second details change moved no level
    let events = env.events_about(&user).await;
    assert_eq!(
        kinds(&events),
        [
            "account.created",
            "account.sessions_ended",
            "account.sessions_ended",
            "account.email_changed",
            "account.kyc_level_changed"
        ]
    );
    assert_eq!(data(&events[1], Disclosure::Masked)["which"], "one");
    assert_eq!(data(&events[2], Disclosure::Masked)["which"], "others");
    assert_eq!(
        data(&events[4], Disclosure::Masked),
        json!({ "userId": user, "sequence": 5, "kycLevel": "KYC_0", "previousKycLevel": "NONE" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_that_race_on_one_account_get_numbers_of_their_own() {
    let env = std::sync::Arc::new(TestEnv::new().await);
    for trial in 0..4 {
        // GIVEN a user signed in on three devices
        let phone = fresh_phone();
        let (auth, user) = signed_up(&env, &phone).await;
        env.sign_in(&phone, PASSWORD).await;
        env.sign_in(&phone, PASSWORD).await;
        let others = other_sessions(&env, &auth).await;
        assert_eq!(others.len(), 2);

        // WHEN the two other sessions are ended at the same moment
        let end = |id: String| {
            let (env, auth) = (env.clone(), auth.clone());
            tokio::spawn(async move { env.end_session(&auth, &id).await })
        };
        let racing = [end(others[0].clone()), end(others[1].clone())];
        for answer in racing {
            assert_eq!(answer.await.unwrap().status, 204, "trial {trial}");
        }

        // THEN each end has its event, and no two events share a number
        let events = env.events_about(&user).await;
        assert_eq!(kinds(&events), ["account.created", "account.sessions_ended", "account.sessions_ended"]);
        assert_eq!(events.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3], "trial {trial}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_racing_a_session_end_both_go_through_with_numbers_of_their_own() {
    let env = std::sync::Arc::new(TestEnv::new().await);
    for trial in 0..4 {
        // GIVEN a user signed in on two devices
        let phone = fresh_phone();
        let (auth, user) = signed_up(&env, &phone).await;
        env.sign_in(&phone, PASSWORD).await;
        let other = other_sessions(&env, &auth).await.remove(0);

        // WHEN the first changes the password while it ends the other's session
        let (env1, auth1) = (env.clone(), auth.clone());
        let change = tokio::spawn(async move {
            env1.as_user(Endpoint::PasswordChange, &auth1, json!({ "oldPassword": PASSWORD, "newPassword": CHANGED }))
                .await
        });
        let (env2, auth2) = (env.clone(), auth.clone());
        let end = tokio::spawn(async move { env2.end_session(&auth2, &other).await });

        // THEN both go through (the loser on the event count tries again), and the events are
        // numbered apart: the password change, and the session end unless the change ended it first
        let (changed, ended) = (change.await.unwrap(), end.await.unwrap());
        assert_eq!((changed.status, ended.status), (200, 204), "trial {trial}: {:?} {:?}", changed.body, ended.body);
        let events = env.events_about(&user).await;
        let numbers: Vec<u64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(numbers, (1..=events.len() as u64).collect::<Vec<_>>(), "trial {trial}");
        assert!(kinds(&events).contains(&"account.password_changed"), "trial {trial}");
    }
}
