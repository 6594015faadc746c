//! Enrolling, listing and removing a second factor and replacing the recovery codes, end to end on
//! moto: the step-up by a code to the confirmed phone (an SMS moto captured), the TOTP secret sealed
//! by the KMS factor key, pyotp computing the app's codes from the `otpauth://` URI the enrolment
//! answered, and the DynamoDB conditions that let one of parallel verifications win.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::*;
use registration::factors::policy::SecondFactorPolicy;
use registration::handlers::support::{self, SupportRemovalError};
use registration::ports::Clock;
use serde_json::{Value, json};

use crate::concurrency::PASSWORD;
use crate::deletion_page::{ask_code, enter_code};
use crate::totp::pyotp_codes;
use registration::ports::FactorKind;
use registration::webhooks::event::{AccountEvent, Disclosure, RemovedBy};

fn claims(tokens: &Answer) -> Value {
    let token = tokens.body["access_token"].as_str().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn refresh_token(tokens: &Answer) -> &str {
    tokens.body["refresh_token"].as_str().unwrap()
}

async fn step_up(env: &TestEnv, tokens: &Answer, second: (&str, &str)) -> Answer {
    let mut body = json!({ "grant_type": "step_up", "refresh_token": refresh_token(tokens), "password": PASSWORD });
    body[second.0] = json!(second.1);
    env.call(Endpoint::Token, body, &[]).await
}

/// A session of an account without a factor, raised by a code sent to its confirmed phone.
async fn stepped_up_by_sms(env: &TestEnv, tokens: &Answer, phone: &str) -> Answer {
    let sent = env.as_user(Endpoint::StepUpCode, &bearer(tokens), Value::Null).await;
    assert_eq!((sent.status, &sent.body["result"]), (200, &json!("ok")), "{:?}", sent.body);
    let raised = step_up(env, tokens, ("sms_code", &env.latest_code(phone).await)).await;
    assert_eq!(raised.status, 200, "{:?}", raised.body);
    raised
}

/// An enrolment started: its factor id and the URI pyotp gets.
async fn started(env: &TestEnv, tokens: &Answer) -> (String, String) {
    let started = env.as_user(Endpoint::TotpEnrol, &bearer(tokens), Value::Null).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    (started.body["factorId"].as_str().unwrap().to_owned(), started.body["otpauthUri"].as_str().unwrap().to_owned())
}

async fn verify(env: &TestEnv, tokens: &Answer, factor_id: &str, code: &str) -> Answer {
    env.as_user(Endpoint::TotpVerify, &bearer(tokens), json!({ "factorId": factor_id, "code": code })).await
}

/// An account that enrolled an authenticator through the API; its phone, the session that did it
/// (at `aal2` by SMS), the factor id, the URI and the recovery codes shown.
struct Enrolled {
    phone: String,
    tokens: Answer,
    factor_id: String,
    uri: String,
    recovery_codes: Vec<String>,
}

async fn enrolled(env: &TestEnv) -> Enrolled {
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    let tokens = stepped_up_by_sms(env, &signed_up, &phone).await;
    let (factor_id, uri) = started(env, &tokens).await;
    let verified = verify(env, &tokens, &factor_id, &pyotp_codes(&uri, &[env.clock.now()]).remove(0)).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let recovery_codes =
        verified.body["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    Enrolled { phone, tokens, factor_id, uri, recovery_codes }
}

#[tokio::test]
async fn a_password_session_steps_up_by_sms_enrols_pyotps_app_and_then_signs_in_only_with_both() {
    // GIVEN an account signed in with its password
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    // WHEN it asks to enrol an authenticator
    let refused = env.as_user(Endpoint::TotpEnrol, &bearer(&signed_up), Value::Null).await;
    // THEN it is asked to step up first (a thief with the password alone cannot enrol)
    assert_error(&refused, 401, "INSUFFICIENT_USER_AUTHENTICATION");
    let challenge = refused.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(r#"acr_values="aal2""#) && challenge.contains(r#"max_age="300""#), "{challenge}");
    // WHEN it steps up with the code sent to its phone
    let tokens = stepped_up_by_sms(&env, &signed_up, &phone).await;
    let raised = claims(&tokens);
    assert_eq!((&raised["acr"], &raised["amr"]), (&json!("aal2"), &json!(["pwd", "sms", "mfa"])));
    // AND enrols, and verifies with a wrong code, then with the code pyotp computes from the URI
    let (factor_id, uri) = started(&env, &tokens).await;
    assert!(uri.starts_with("otpauth://totp/") && uri.contains("issuer="), "{uri}");
    let wrong = verify(&env, &tokens, &factor_id, "000000").await;
    let code = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    let verified = verify(&env, &tokens, &factor_id, &code).await;
    // THEN the wrong code counted down, and the right one made the factor and showed ten codes
    assert_error(&wrong, 400, "CODE_INVALID");
    assert_eq!(wrong.body["data"]["attemptsRemaining"], 4);
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["recoveryCodes"].as_array().unwrap().len(), 10);
    assert!(env.sms_to(&phone).await.last().unwrap().contains("An authenticator app was added"));
    // AND the list shows it, without its secret
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&tokens), Value::Null).await;
    assert_eq!(
        (&listed.body["factors"][0]["id"], &listed.body["factors"][0]["type"]),
        (&json!(factor_id), &json!("totp"))
    );
    assert_eq!(listed.body["factors"][1]["remaining"], 10);
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    assert!(!listed.text.contains(secret), "{}", listed.text);
    // AND a sign-in now needs a code from the app: the password alone gets mfa_required
    env.clock.advance(30);
    let asked = env.sign_in(&phone, PASSWORD).await;
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")), "{:?}", asked.body);
    let token = asked.body["data"]["mfaToken"].as_str().unwrap();
    let next = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    let signed_in =
        env.call(Endpoint::Token, json!({ "grant_type": "mfa", "mfa_token": token, "otp": next }), &[]).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(claims(&signed_in)["amr"], json!(["pwd", "otp", "mfa"]));
    // AND its phone no longer steps it up
    let by_sms = env.as_user(Endpoint::StepUpCode, &bearer(&signed_in), Value::Null).await;
    assert_error(&by_sms, 409, "SECOND_FACTOR_ENROLLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_parallel_verifications_of_one_code_exactly_one_makes_the_factor() {
    // GIVEN an enrolment waiting for its code
    let env = Arc::new(TestEnv::new().await);
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    let tokens = Arc::new(stepped_up_by_sms(&env, &signed_up, &phone).await);
    let (factor_id, uri) = started(&env, &tokens).await;
    let code = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    // WHEN four verifications with the app's code run at once
    let tries = (0..4)
        .map(|_| {
            let (env, tokens, factor_id, code) = (env.clone(), tokens.clone(), factor_id.clone(), code.clone());
            async move { verify(&env, &tokens, &factor_id, &code).await }
        })
        .collect();
    let answers = in_parallel(tries).await;
    // THEN exactly one made the factor, the others were told the enrolment is no longer open
    let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(won.len(), 1, "{:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
    for lost in answers.iter().filter(|a| a.status != 200) {
        assert_error(lost, 400, "CODE_EXPIRED");
    }
    // AND the recovery codes that work are the winner's
    let shown = won[0].body["recoveryCodes"][0].as_str().unwrap();
    let recovered = step_up(&env, &tokens, ("recovery_code", shown)).await;
    assert_eq!(recovered.status, 200, "{:?}", recovered.body);
}

#[tokio::test]
async fn removing_the_app_needs_its_own_step_up_leaves_the_password_alone_and_kills_the_pages_code() {
    // GIVEN an enrolled account, and a code the deletion page sent to its phone and refused to use
    let env = TestEnv::new().await;
    let account = enrolled(&env).await;
    env.wait_out_cooldown();
    ask_code(&env, &account.phone).await;
    let page_code = env.latest_code(&account.phone).await;
    assert_eq!(enter_code(&env, &account.phone, &page_code).await.status, 403);
    // WHEN the session raised by SMS before the enrolment asks to remove the app
    let refused = env.as_user(Endpoint::FactorRemove, &bearer(&account.tokens), Value::Null).await;
    // THEN it must step up with the app or a recovery code: the phone no longer stands in
    assert_error(&refused, 401, "INSUFFICIENT_USER_AUTHENTICATION");
    // WHEN it steps up with a recovery code (the app was lost) and removes the factor
    let raised = step_up(&env, &account.tokens, ("recovery_code", &account.recovery_codes[0])).await;
    assert_eq!(raised.status, 200, "{:?}", raised.body);
    let unknown = env.remove_factor(&bearer(&raised), "not-a-factor").await;
    let removed = env.remove_factor(&bearer(&raised), &account.factor_id).await;
    // THEN an unknown id is not found, the app is removed, the owner told
    assert_error(&unknown, 404, "FACTOR_NOT_FOUND");
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert!(env.sms_to(&account.phone).await.last().unwrap().contains("authenticator app and the recovery codes"));
    // AND the password alone signs in again, with nothing listed
    let signed_in = env.sign_in(&account.phone, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&signed_in), Value::Null).await;
    assert_eq!(listed.body["factors"], json!([]));
    // AND the deletion page's code left from before no longer deletes the account
    let late = enter_code(&env, &account.phone, &page_code).await;
    assert!(late.status == 400 && late.text.contains("This code no longer works"), "{}", late.text);
    assert_eq!(env.sign_in(&account.phone, PASSWORD).await.status, 200);
    // AND the partner's outbox tells of the factor added, then removed by the user
    let events = env.events_about(&user_of(&account)).await;
    let told: Vec<_> = events.iter().map(|e| (e.sequence, e.event.clone())).collect();
    assert_eq!(
        told,
        [
            (1, told[0].1.clone()),
            (2, AccountEvent::FactorAdded { factor: FactorKind::Totp }),
            (3, AccountEvent::FactorRemoved { factor: FactorKind::Totp, by: RemovedBy::User }),
        ]
    );
}

fn user_of(account: &Enrolled) -> String {
    account.tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned()
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_set_at_once() {
    // GIVEN an enrolled account that stepped up with its app
    let env = TestEnv::new().await;
    let account = enrolled(&env).await;
    env.clock.advance(30);
    let otp = pyotp_codes(&account.uri, &[env.clock.now()]).remove(0);
    let raised = step_up(&env, &account.tokens, ("otp", &otp)).await;
    assert_eq!(raised.status, 200, "{:?}", raised.body);
    // WHEN it asks for new recovery codes
    let replaced = env.as_user(Endpoint::RecoveryCodesRegenerate, &bearer(&raised), Value::Null).await;
    // THEN ten new ones are shown once, the owner is told, an old one no longer works and a new one does
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    let fresh: Vec<&str> =
        replaced.body["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(fresh.len(), 10);
    assert!(env.sms_to(&account.phone).await.last().unwrap().contains("New recovery codes were made"));
    let old = step_up(&env, &raised, ("recovery_code", &account.recovery_codes[1])).await;
    assert_error(&old, 400, "invalid_grant");
    let new = step_up(&env, &raised, ("recovery_code", fresh[0])).await;
    assert_eq!(new.status, 200, "{:?}", new.body);
    // AND the partner is told the set was replaced (with no code in the event)
    let events = env.events_about(&user_of(&account)).await;
    let last = events.last().unwrap();
    assert_eq!((last.sequence, &last.event), (3, &AccountEvent::RecoveryCodesReplaced));
    assert!(!fresh.iter().any(|code| last.body(Disclosure::Full).contains(code)));
}

#[tokio::test]
async fn a_phone_added_with_the_password_alone_opens_no_enrolment_for_a_day() {
    // GIVEN an email-first account that has just added and confirmed a phone (the password and a
    // session are all that takes: what a thief with the password can do)
    let env = TestEnv::new().await;
    let email = fresh_email();
    let tokens = env.email_account(&email, PASSWORD).await;
    let phone = fresh_phone();
    env.added_phone(&tokens, &phone).await;
    let told = env.emails_to(&email.to_lowercase()).await;
    assert!(told.iter().any(|(subject, _)| subject == "A phone number was added to your account"), "{told:?}");
    // WHEN it asks for a step-up code to open an enrolment
    env.wait_out_cooldown();
    let refused = env.as_user(Endpoint::StepUpCode, &bearer(&tokens), Value::Null).await;
    // THEN the new phone does not count yet, and says when it will
    assert_error(&refused, 409, "PHONE_NOT_SETTLED");
    let wait = refused.body["data"]["retryAfter"].as_i64().unwrap();
    assert!((86_300..=86_400).contains(&wait), "{wait}");
    // AND a day later it does, and every change of the factor is told to the address too
    env.clock.advance(wait);
    let signed_in = env.sign_in(&email, PASSWORD).await;
    let tokens = stepped_up_by_sms(&env, &signed_in, &phone).await;
    let (factor_id, uri) = started(&env, &tokens).await;
    let code = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    assert_eq!(verify(&env, &tokens, &factor_id, &code).await.status, 200);
    env.clock.advance(30);
    let otp = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    let raised = step_up(&env, &tokens, ("otp", &otp)).await;
    let replaced = env.as_user(Endpoint::RecoveryCodesRegenerate, &bearer(&raised), Value::Null).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(env.remove_factor(&bearer(&raised), &factor_id).await.status, 204);
    let told: Vec<String> =
        env.emails_to(&email.to_lowercase()).await.into_iter().map(|(subject, _)| subject).collect();
    for subject in [
        "An authenticator app was added to your account",
        "Your recovery codes were replaced",
        "The authenticator app was removed from your account",
    ] {
        assert!(told.iter().any(|s| s == subject), "{subject:?} not in {told:?}");
    }
}

#[tokio::test]
async fn a_phone_or_email_change_begun_before_the_enrolment_does_not_finish_after_it() {
    // GIVEN a code sent to a new number and a link sent to a new address while the account had no
    // factor (neither asked for a step-up then)
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    let auth = bearer(&signed_up);
    let new_phone = fresh_phone();
    let asked = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new_phone, "password": PASSWORD })).await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let phone_code = env.latest_code(&new_phone).await;
    let new_email = fresh_email();
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": new_email })).await.status, 200);
    let link = env.latest_link(&new_email.to_lowercase()).await;
    // WHEN the owner enrols an authenticator, and then the code and the link are used
    env.wait_out_cooldown();
    let tokens = stepped_up_by_sms(&env, &signed_up, &phone).await;
    let (factor_id, uri) = started(&env, &tokens).await;
    let code = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    assert_eq!(verify(&env, &tokens, &factor_id, &code).await.status, 200);
    let moved =
        env.as_user(Endpoint::PhoneChange, &bearer(&tokens), json!({ "phone": new_phone, "code": phone_code })).await;
    let confirmed = env.press_link_button(&link).await;
    let resent = env.as_user(Endpoint::EmailResend, &auth, Value::Null).await;
    // THEN none changes the account: they would need the step-up the factor now asks for
    assert_error(&moved, 400, "CODE_EXPIRED");
    assert!(confirmed.text.contains("This link is not valid"), "{}", confirmed.text);
    assert_error(&resent, 401, "INSUFFICIENT_USER_AUTHENTICATION");
    let profile = env.as_user(Endpoint::ProfileGet, &bearer(&tokens), Value::Null).await;
    assert_eq!(profile.body["phone"], json!(phone));
    assert!(profile.body["email"].is_null(), "{:?}", profile.body);
}

#[tokio::test]
async fn a_required_partners_user_without_a_factor_may_only_enrol_and_then_everything() {
    // GIVEN a partner that requires a second factor, and a new account of it
    let env = TestEnv::new().await;
    env.update_partner(MERCHANT, |p| p.second_factor = SecondFactorPolicy::Required).await;
    let phone = fresh_phone();
    let signed_up = env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    // WHEN its tokens are used for anything but enrolling
    let auth = bearer(&signed_up);
    let profile = env.as_user(Endpoint::ProfileGet, &auth, Value::Null).await;
    let details = env.as_user(Endpoint::ProfileUpdate, &auth, json!({ "firstName": "Ada" })).await;
    // THEN they are refused, and enrolling is not
    assert_error(&profile, 403, "SECOND_FACTOR_REQUIRED");
    assert_error(&details, 403, "SECOND_FACTOR_REQUIRED");
    for endpoint in [
        Endpoint::AccountExport,
        Endpoint::SessionsList,
        Endpoint::SessionsEndOthers,
        Endpoint::KycSumsubToken,
        Endpoint::EmailResend,
    ] {
        assert_error(&env.as_user(endpoint, &auth, Value::Null).await, 403, "SECOND_FACTOR_REQUIRED");
    }
    let email_add = env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": fresh_email() })).await;
    let delete = env.as_user(Endpoint::AccountDelete, &auth, json!({ "password": PASSWORD })).await;
    let change = json!({ "oldPassword": PASSWORD, "newPassword": "Another-pass-93" });
    let password = env.as_user(Endpoint::PasswordChange, &auth, change).await;
    for refused in [&email_add, &delete, &password] {
        assert_error(refused, 403, "SECOND_FACTOR_REQUIRED");
    }
    // AND a second session may still sign itself out
    let second = env.sign_in(&phone, PASSWORD).await;
    let sid = claims(&second)["sid"].as_str().unwrap().to_owned();
    assert_eq!(env.end_session(&bearer(&second), &sid).await.status, 204);
    let listed = env.as_user(Endpoint::FactorsList, &bearer(&signed_up), Value::Null).await;
    assert_eq!((listed.status, &listed.body["factors"]), (200, &json!([])));
    let tokens = stepped_up_by_sms(&env, &signed_up, &phone).await;
    let (factor_id, uri) = started(&env, &tokens).await;
    let code = pyotp_codes(&uri, &[env.clock.now()]).remove(0);
    assert_eq!(verify(&env, &tokens, &factor_id, &code).await.status, 200);
    // AND once it has a factor, the same session may do the rest
    let profile = env.as_user(Endpoint::ProfileGet, &bearer(&tokens), Value::Null).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
}

#[tokio::test]
async fn a_partner_that_turns_factors_off_offers_no_enrolment_and_still_asks_for_an_enrolled_one() {
    // GIVEN an account that enrolled an app, another that stepped up to enrol one, and their
    // partner then turning second factors off
    let env = TestEnv::new().await;
    let account = enrolled(&env).await;
    let late = fresh_phone();
    let late_signed_up = env.registered(&late, PASSWORD).await;
    env.wait_out_cooldown();
    let late_raised = stepped_up_by_sms(&env, &late_signed_up, &late).await;
    env.update_partner(MERCHANT, |p| p.second_factor = SecondFactorPolicy::Off).await;
    // WHEN its owner signs in, and another account tries to enrol
    let asked = env.sign_in(&account.phone, PASSWORD).await;
    let other = fresh_phone();
    let other_tokens = env.registered(&other, PASSWORD).await;
    env.wait_out_cooldown();
    let code = env.as_user(Endpoint::StepUpCode, &bearer(&other_tokens), Value::Null).await;
    let enrol = env.as_user(Endpoint::TotpEnrol, &bearer(&other_tokens), Value::Null).await;
    let late_enrol = env.as_user(Endpoint::TotpEnrol, &bearer(&late_raised), Value::Null).await;
    // THEN the enrolled factor is still asked for (turning the policy down never stops checking
    // one), and nothing new can be enrolled, even by a session that had stepped up for it
    assert_eq!((asked.status, &asked.body["error"]), (403, &json!("mfa_required")));
    assert_error(&code, 403, "SECOND_FACTOR_NOT_OFFERED");
    assert_eq!(enrol.status, 401, "an enrolment needs its step-up before anything: {:?}", enrol.body);
    assert_error(&late_enrol, 403, "SECOND_FACTOR_NOT_OFFERED");
    // AND the enrolled one can still be removed
    let raised = step_up(&env, &account.tokens, ("recovery_code", &account.recovery_codes[0])).await;
    assert_eq!(env.remove_factor(&bearer(&raised), &account.factor_id).await.status, 204);
}

#[tokio::test]
async fn a_phone_moved_with_the_password_alone_opens_no_enrolment_for_a_day() {
    // GIVEN a phone-first account whose owner (or a thief with the password) moved it to a new number
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let new_phone = fresh_phone();
    let auth = bearer(&tokens);
    assert_eq!(
        env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new_phone, "password": PASSWORD })).await.status,
        200
    );
    let code = env.latest_code(&new_phone).await;
    let moved = env.as_user(Endpoint::PhoneChange, &auth, json!({ "phone": new_phone, "code": code })).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    // WHEN it asks for a step-up code
    env.wait_out_cooldown();
    let refused = env.as_user(Endpoint::StepUpCode, &auth, Value::Null).await;
    // THEN the new number does not count for a day (the old one was told of the move)
    assert_error(&refused, 409, "PHONE_NOT_SETTLED");
    assert!(env.sms_to(&phone).await.last().unwrap().contains("moved to the phone number"));
}

#[tokio::test]
async fn a_user_who_lost_both_is_helped_by_the_partners_support_and_the_removal_leaves_a_trace() {
    // GIVEN an enrolled account, signed in on a device, whose owner lost the app and the codes
    let env = TestEnv::new().await;
    let account = enrolled(&env).await;
    let user_id = account.tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    let partner = env.app.partners.get(MERCHANT).await.unwrap().unwrap();
    // WHEN the partner's support removes the factors, after a refused reference and an unknown user
    let bad = support::remove_lost_factors(&env.app, &env.mailer, &partner, &user_id, "a story, not a ticket").await;
    let unknown = support::remove_lost_factors(&env.app, &env.mailer, &partner, "no-such-user", "TICKET-42").await;
    let removal = support::remove_lost_factors(&env.app, &env.mailer, &partner, &user_id, "TICKET-42").await.unwrap();
    let record = removal.record;
    // THEN the refused ones changed nothing, and the removal is on the partner's record
    assert!(matches!(bad, Err(SupportRemovalError::BadReference)), "{bad:?}");
    assert!(matches!(unknown, Err(SupportRemovalError::NoSuchAccount)), "{unknown:?}");
    let records = env.app.store.factor_removal_records(MERCHANT).await.unwrap();
    assert_eq!(records, vec![record.clone()]);
    assert_eq!((record.user_id.as_str(), record.reference.as_str()), (user_id.as_str(), "TICKET-42"));
    // AND the owner was told (and the operator sees it was), every session ended, and the password
    // alone signs in again
    assert!(env.sms_to(&account.phone).await.last().unwrap().starts_with("Support removed"));
    assert!(removal.notices.len() == 1 && removal.notices[0].ends_with(": sent"), "{:?}", removal.notices);
    assert_eq!(env.refresh(refresh_token(&account.tokens)).await.body["error"], "invalid_grant");
    let signed_in = env.sign_in(&account.phone, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    // AND a second run finds nothing left to remove
    let again = support::remove_lost_factors(&env.app, &env.mailer, &partner, &user_id, "TICKET-42").await;
    assert!(matches!(again, Err(SupportRemovalError::NoFactor)), "{again:?}");
    // AND the partner's outbox says support removed it
    let removed = AccountEvent::FactorRemoved { factor: FactorKind::Totp, by: RemovedBy::Support };
    assert_eq!(env.events_about(&user_id).await.last().map(|e| e.event.clone()), Some(removed));
}
