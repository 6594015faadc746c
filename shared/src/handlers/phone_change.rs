//! `PUT /v2/mobile/phone/change` (bearer), for an account with a confirmed phone:
//! `{phone, password}` re-authenticates (under the sign-in back-off) and sends an SMS code to the
//! new number → `{"result":"ok"}`; the same call with `{phone, code}` moves the account to it →
//! `{"phone", "phoneVerified": true, "kycLevel"}`.
//!
//! Until the code is entered the old number stays the account's and signs in. The move takes the new
//! claim, releases the old one and replaces the account's phone in one transaction; sessions are
//! kept. The old number is then free (it signs in like an unknown one, and can sign up anew) and gets
//! a notice. A number another account holds gets the same answer in the same time as a free one,
//! and its owner a notice instead of a code, as with phone add.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::codes::{check_code, consume_code};
use super::delivery::code_to_new_phone;
use super::notices::{NoticeTo, SecurityEvent, notify};
use super::password_check::reauthenticate;
use super::signed_in::{SignedIn, signed_in_account};
use super::{SMS_CODE_TTL_SECS, retry_races};
use crate::App;
use crate::admission::{RateClass, rate_limit, recipients};
use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{AccountRecord, AccountStatus, Identifier, PhoneKey, PhoneMove, Recipient};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::code::{CodePurpose, ConfirmationCode};
use crate::webhooks::event::{AccountEvent, EventRecord};

#[derive(Deserialize)]
struct ChangePhoneRequest {
    phone: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("phone-change", &req, change(app, verifier, mailer, &req).await)
}

async fn change(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let signed_in = signed_in_account(app, verifier, req, Method::PUT).await?;
    let body: ChangePhoneRequest = json_body(req)?;
    if body.code.is_none() {
        signed_in.allowed(app, Guarded::ChangePhone)?;
    }
    let SignedIn { caller, account, .. } = signed_in;
    // Asking sends an SMS to a new contact; confirming is a guess like any other code.
    rate_limit::check(app, &caller.client, if body.code.is_some() { RateClass::Verify } else { RateClass::Contact })
        .await?;
    let partner = &caller.partner;
    let new = PhoneKey { merchant_id: account.merchant_id.clone(), phone: PhoneNumber::parse(&body.phone)? };
    let old = account
        .phone
        .as_deref()
        .filter(|_| account.phone_confirmed())
        .and_then(|phone| PhoneNumber::parse(phone).ok())
        .map(|phone| PhoneKey { merchant_id: account.merchant_id.clone(), phone })
        .ok_or(ApiError::PhoneNotSet)?;
    if new.phone.e164() == old.phone.e164() {
        return Err(ApiError::validation("phone", "different", "This is already the account's phone number."));
    }
    match (body.password, body.code) {
        (Some(password), None) => {
            partner.check_sms_country(&new.phone)?;
            reauthenticate(app, &account, password, "password").await?;
            recipients::admit(app, &account.user_id, Recipient::Phone(&new.phone)).await?;
            let estimate = &app.send_latency.phone_change;
            retry_races(|| code_to_new_phone(app, partner, &account.user_id, &new, CodePurpose::PhoneChange, estimate))
                .await?;
            tracing::info!(user_id = %account.user_id, phone = %new.phone.masked(), "phone change code sent");
            Ok(json(200, &json!({ "result": "ok" })))
        }
        (None, Some(code)) => {
            let code = ConfirmationCode::parse(&code)?;
            confirm(app, mailer, partner, &account, &new, &old, &code).await
        }
        (Some(_), Some(_)) => {
            Err(ApiError::validation("code", "oneOf", "Send the password to get a code, then the code alone."))
        }
        (None, None) => {
            Err(ApiError::validation("password", "required", "The password is required to change the phone."))
        }
    }
}

async fn confirm(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    new: &PhoneKey,
    old: &PhoneKey,
    code: &ConfirmationCode,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let who = Identifier::Phone(new);
    let stored =
        check_code(&*app.store, &app.code_mac, who, CodePurpose::PhoneChange, code, Some(&account.user_id), now)
            .await?;
    // A code sent before the account got its factor was sent without the step-up the factor asks for
    // (checked here, and again by the move's condition: a factor enrolled meanwhile fails it).
    let issued_at = stored.expires_at - SMS_CODE_TTL_SECS;
    if account.factors.enrolled_since(issued_at) {
        return Err(ApiError::CodeNoLongerValid);
    }
    // The first try moves the account at the version read when the request was signed in; a retry
    // reads it again. A concurrent email or details change moved the version on, which is no reason
    // to refuse the move (it sets only the phone); the account gone or moved elsewhere is.
    let mut read_version = Some((account.profile_version, account.event_sequence));
    let code_id = stored.code_id.as_str();
    let moved = consume_code(&*app.store, who, CodePurpose::PhoneChange, &stored.code_id, || {
        let known = read_version.take();
        async move {
            let (expected_version, events_so_far) = match known {
                Some(read) => read,
                None => match app.store.account(&account.user_id).await? {
                    Some(current)
                        if current.status == AccountStatus::Active
                            && current.phone.as_deref() == Some(old.phone.e164())
                            && !current.factors.enrolled_since(issued_at) =>
                    {
                        (current.profile_version, current.event_sequence)
                    }
                    _ => return Ok(false),
                },
            };
            let changed = AccountEvent::PhoneChanged { phone: new.phone.clone(), previous: Some(old.phone.clone()) };
            let events =
                vec![EventRecord::new(changed, &account.user_id, &account.merchant_id, now, events_so_far + 1)];
            let change =
                PhoneMove { new, old, code_id, user_id: &account.user_id, expected_version, issued_at, now, events };
            app.store.move_phone(change).await.map(|()| true)
        }
    })
    .await?;
    if !moved {
        return Err(ApiError::CodeNoLongerValid);
    }
    tracing::info!(user_id = %account.user_id, from = %old.phone.masked(), to = %new.phone.masked(), "phone changed");
    // The old number and the confirmed address are told; the new number just proved itself.
    let mut told = vec![NoticeTo::Phone(old.phone.clone())];
    told.extend(account.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()).map(NoticeTo::Email));
    let event = SecurityEvent::PhoneChanged { new_phone: new.phone.masked() };
    notify(app, mailer, partner, &told, &event, now).await;
    Ok(json(
        200,
        &json!({ "phone": new.phone.e164(), "phoneVerified": true, "kycLevel": account.shown_kyc_level().as_str() }),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::ports::{
        AccountDeletions, Admission, CounterKey, Counters, DeletionChannel, DeletionRecord, Directory, Erasure,
        StoreError,
    };
    use crate::testing::{MemoryStore, Reply, TestApp, bearer, request};

    /// The memory store's counters, with the account deleted (every step, its recipients forgotten
    /// too) just before a new recipient is counted for it, as a parallel deletion can; it remembers
    /// which sets it made.
    struct DeletedBeforeTheCount {
        store: Arc<MemoryStore>,
        user_id: String,
        sets: Mutex<HashSet<String>>,
    }

    #[async_trait]
    impl Counters for DeletedBeforeTheCount {
        async fn increment_below(&self, key: &CounterKey, limit: u64) -> Result<bool, StoreError> {
            self.store.increment_below(key, limit).await
        }

        async fn decrement(&self, key: &CounterKey) -> Result<(), StoreError> {
            self.store.decrement(key).await
        }

        async fn admit_recipient(
            &self,
            key: &CounterKey,
            member: &str,
            limit: u64,
            user_id: &str,
        ) -> Result<Admission, StoreError> {
            if let Some(account) = self.store.account(&self.user_id).await? {
                self.store.sweep_account(&self.user_id).await?;
                let record = DeletionRecord {
                    user_id: self.user_id.clone(),
                    merchant_id: account.merchant_id.clone(),
                    deleted_at: 1,
                    channel: DeletionChannel::App,
                };
                self.store.erase_account(Erasure { account: &account, record: &record }).await?;
            }
            let admission = self.store.admit_recipient(key, member, limit, user_id).await?;
            if admission == Admission::Admitted {
                self.sets.lock().unwrap().insert(key.name.clone());
            }
            Ok(admission)
        }

        async fn remove(&self, key: &CounterKey) -> Result<(), StoreError> {
            self.sets.lock().unwrap().remove(&key.name);
            self.store.remove(key).await
        }
    }

    #[tokio::test]
    async fn a_deletion_that_ends_before_the_new_number_is_counted_leaves_no_count_of_the_account() {
        // GIVEN an account, deleted by a parallel request just before its new number is counted
        let mut t = TestApp::new().await;
        let tokens = t.registered("+447871000051", "Phone-change-pass-51").await;
        let user_id = t.store.account_for_phone("+447871000051").await.unwrap();
        let counters =
            Arc::new(DeletedBeforeTheCount { store: t.store.clone(), user_id, sets: Mutex::new(HashSet::new()) });
        t.app.counters = counters.clone();

        // WHEN it asks for a code to move to a new number
        let auth = bearer(&tokens);
        let body = json!({ "phone": "+447871000052", "password": "Phone-change-pass-51" });
        let req = request(include_str!("../../../events/phone-change.json"), body, &[("authorization", &auth)]);
        let reply = match handle(&t.app, &t.verifier, &t.mailer, req).await {
            Ok(response) => Reply::from(response),
            Err(never) => match never {},
        };

        // THEN it is told the account is gone, and no set of the account's recipients is left
        assert_eq!(reply.status, 401, "{:?}", reply.body);
        assert!(counters.sets.lock().unwrap().is_empty(), "{:?}", counters.sets.lock().unwrap());
    }
}
