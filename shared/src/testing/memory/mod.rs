//! The store in memory. Every operation takes one lock, checks every condition its DynamoDB twin
//! states, and then applies all of its writes or none (`Conflict`), as a transaction does.

mod codes;
mod deletions;
mod factors;
mod sessions;
mod webhooks;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::email::EmailAddress;
use crate::domain::identity_review::IdentityReview;
use crate::domain::kyc::KycLevel;
use crate::domain::partner::Partner;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::send_limits::{SendLog, SendReservation};
use crate::domain::signin_backoff::SigninBackoff;
use crate::ports::*;
use crate::security::code::CodePurpose;
use crate::webhooks::event::EventRecord;

#[derive(Default)]
struct State {
    accounts: HashMap<String, AccountRecord>,
    phone_claims: HashMap<String, PhoneClaim>,
    email_claims: HashMap<String, String>,
    codes: HashMap<String, StoredCode>,
    send_logs: HashMap<String, SendLog>,
    streaks: HashMap<String, SigninBackoff>,
    sessions: HashMap<(String, String), SessionRecord>,
    refresh: HashMap<String, RefreshRecord>,
    email_tokens: HashMap<String, EmailTokenRecord>,
    partners: HashMap<String, Partner>,
    counters: HashMap<String, u64>,
    members: HashMap<String, HashSet<String>>,
    deletions: Vec<DeletionRecord>,
    /// Device marks (user, device) and when each expires.
    device_marks: HashMap<(String, String), i64>,
    /// Sign-in challenges, by the digest of their token.
    mfa_challenges: HashMap<String, MfaChallenge>,
    /// Second factors the partners' support removed.
    factor_removals: Vec<FactorRemovalRecord>,
    /// The webhook outbox: events written with their changes.
    events: Vec<EventRecord>,
    /// Partners' webhook endpoints, in the order they were made.
    endpoints: Vec<crate::webhooks::endpoints::WebhookEndpoint>,
    /// Delivery attempts, as the endpoints' logs keep them.
    delivery_log: Vec<crate::webhooks::delivery_log::DeliveryAttempt>,
}

/// Every port of the store, in memory.
#[derive(Default)]
pub struct MemoryStore(Mutex<State>);

impl MemoryStore {
    /// The state, after yielding once: a real store call is a network round trip, during which other
    /// requests run, so a read and the write that depends on it can interleave with theirs here too.
    async fn state(&self) -> MutexGuard<'_, State> {
        tokio::task::yield_now().await;
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn phone_id(key: &PhoneKey) -> String {
    format!("{}#{}", key.merchant_id, key.phone.e164())
}

fn email_id(merchant_id: &str, email: &str) -> String {
    format!("{merchant_id}#{email}")
}

fn identifier_id(who: Identifier<'_>) -> String {
    match who {
        Identifier::Phone(key) => format!("PHONE#{}", phone_id(key)),
        Identifier::Email(key) => format!("EMAIL#{}", email_id(&key.merchant_id, key.email.as_str())),
    }
}

fn code_id(who: Identifier<'_>, purpose: CodePurpose) -> String {
    format!("{}#{}", identifier_id(who), purpose.as_str())
}

/// `Ok` if `holds`, the store's answer to a condition that does not otherwise.
fn require(holds: bool) -> Result<(), StoreError> {
    if holds { Ok(()) } else { Err(StoreError::Conflict) }
}

impl State {
    /// The send log is still as the reservation read it.
    fn log_unchanged(&self, send: &SendReservation) -> Result<(), StoreError> {
        let version = self.send_logs.get(&send.log).map_or(0, |log| log.version);
        require(version == send.expected_version)
    }

    fn write_log(&mut self, send: &SendReservation) {
        let log = SendLog { key: send.log.clone(), sent_at: send.sent_at.clone(), version: send.new_version() };
        self.send_logs.insert(send.log.clone(), log);
    }

    fn code_is(&self, who: Identifier<'_>, purpose: CodePurpose, id: &str) -> Result<(), StoreError> {
        require(self.codes.get(&code_id(who, purpose)).is_some_and(|code| code.code_id == id))
    }

    /// The user whose claim holds the phone or address, if any.
    fn claim_holder(&self, who: Identifier<'_>) -> Option<String> {
        match who {
            Identifier::Phone(key) => self.phone_claims.get(&phone_id(key)).map(|c| c.user_id.clone()),
            Identifier::Email(key) => self.email_claims.get(&email_id(&key.merchant_id, key.email.as_str())).cloned(),
        }
    }

    fn account(&self, user_id: &str) -> Result<&AccountRecord, StoreError> {
        self.accounts.get(user_id).ok_or(StoreError::Conflict)
    }

    /// The condition the DynamoDB adapter puts on the account with a change's events: the
    /// account's count is still the one they were numbered from.
    fn events_follow(&self, user_id: &str, events: &[EventRecord]) -> Result<(), StoreError> {
        let Some(first) = events.first() else { return Ok(()) };
        let count = self.accounts.get(user_id).map_or(0, |account| account.event_sequence);
        require(first.sequence == count + 1)
    }

    /// The events' items, and the account's count moved on past them.
    fn write_events(&mut self, user_id: &str, events: &[EventRecord]) {
        if let Some(last) = events.last() {
            self.account_mut(user_id).event_sequence = last.sequence;
        }
        self.events.extend(events.iter().cloned());
    }

    fn account_mut(&mut self, user_id: &str) -> &mut AccountRecord {
        self.accounts.entry(user_id.to_owned()).or_insert_with(|| blank_account(user_id))
    }

    fn session_free(&self, user_id: &str, session: &NewSession) -> Result<(), StoreError> {
        require(
            !self.sessions.contains_key(&(user_id.to_owned(), session.session_id.clone()))
                && !self.refresh.contains_key(&session.refresh_token_hash),
        )
    }

    fn start_session(&mut self, user_id: &str, merchant_id: &str, session: NewSession) {
        let record = SessionRecord {
            session_id: session.session_id.clone(),
            merchant_id: merchant_id.to_owned(),
            created_at: session.created_at,
            expires_at: session.expires_at,
            revoked: false,
            credential_version: session.credential_version,
            last_used_at: session.created_at,
            fingerprint: session.fingerprint.clone(),
            assurance: session.assurance.clone(),
        };
        self.sessions.insert((user_id.to_owned(), session.session_id.clone()), record);
        let refresh = RefreshRecord {
            user_id: user_id.to_owned(),
            merchant_id: merchant_id.to_owned(),
            session_id: session.session_id,
            expires_at: session.expires_at,
            rotated_at: None,
            assurance: Some(session.assurance.clone()),
        };
        self.refresh.insert(session.refresh_token_hash, refresh);
    }
}

fn blank_account(user_id: &str) -> AccountRecord {
    AccountRecord {
        user_id: user_id.to_owned(),
        merchant_id: String::new(),
        phone: None,
        status: AccountStatus::Pending,
        password_hash: String::new(),
        valid_after: 0,
        email: None,
        pending_email: None,
        pending_email_token: None,
        details: PersonalDetails::default(),
        password_history: Vec::new(),
        profile_version: 0,
        credential_version: 0,
        kyc_level: KycLevel::None,
        identity_review: None,
        created_at: 0,
        updated_at: 0,
        sessions_started: 0,
        phone_codes_issued: 0,
        phone_confirmed_at: None,
        phone_confirmed_for: None,
        signup_phone: None,
        factors: AccountFactors::default(),
        event_sequence: 0,
    }
}

#[async_trait]
impl Directory for MemoryStore {
    async fn account(&self, user_id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.state().await.accounts.get(user_id).cloned())
    }

    async fn phone_claim(&self, key: &PhoneKey) -> Result<Option<PhoneClaim>, StoreError> {
        Ok(self.state().await.phone_claims.get(&phone_id(key)).cloned())
    }

    async fn email_owner(&self, merchant_id: &str, email: &EmailAddress) -> Result<Option<String>, StoreError> {
        Ok(self.state().await.email_claims.get(&email_id(merchant_id, email.as_str())).cloned())
    }
}

#[async_trait]
impl Signups for MemoryStore {
    async fn create_pending_account(
        &self,
        key: &PhoneKey,
        account: NewPendingAccount,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let claim = state.phone_claims.get(&phone_id(key));
        require(claim.is_none_or(|c| c.status == AccountStatus::Pending && !c.is_live(account.created_at)))?;
        require(!state.accounts.contains_key(&account.user_id))?;
        state.log_unchanged(sms)?;
        let claim = PhoneClaim {
            user_id: account.user_id.clone(),
            status: AccountStatus::Pending,
            expires_at: Some(account.expires_at),
        };
        state.phone_claims.insert(phone_id(key), claim);
        let record = state.account_mut(&account.user_id);
        record.merchant_id = key.merchant_id.clone();
        record.phone = Some(key.phone.e164().to_owned());
        record.password_hash = account.password_hash;
        record.created_at = account.created_at;
        record.updated_at = account.created_at;
        state.codes.insert(code_id(Identifier::Phone(key), CodePurpose::PhoneSignup), code);
        state.write_log(sms);
        Ok(())
    }

    async fn replace_pending_password(
        &self,
        key: &PhoneKey,
        user_id: &str,
        password_hash: String,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        require(state.account(user_id)?.status == AccountStatus::Pending)?;
        let claim = state.phone_claims.get(&phone_id(key));
        require(claim.is_some_and(|c| c.user_id == user_id && c.status == AccountStatus::Pending))?;
        state.log_unchanged(sms)?;
        state.account_mut(user_id).password_hash = password_hash;
        state.codes.insert(code_id(Identifier::Phone(key), CodePurpose::PhoneSignup), code);
        state.write_log(sms);
        Ok(())
    }

    async fn activate_account(
        &self,
        key: &PhoneKey,
        code: &str,
        user_id: &str,
        session: NewSession,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.code_is(Identifier::Phone(key), CodePurpose::PhoneSignup, code)?;
        require(state.account(user_id)?.status == AccountStatus::Pending)?;
        state.events_follow(user_id, events)?;
        require(state.phone_claims.get(&phone_id(key)).is_some_and(|c| c.user_id == user_id))?;
        state.session_free(user_id, &session)?;
        state.codes.remove(&code_id(Identifier::Phone(key), CodePurpose::PhoneSignup));
        let account = state.account_mut(user_id);
        account.status = AccountStatus::Active;
        account.valid_after = now;
        account.signup_phone = Some(key.phone.e164().to_owned());
        let claim = PhoneClaim { user_id: user_id.to_owned(), status: AccountStatus::Active, expires_at: None };
        state.phone_claims.insert(phone_id(key), claim);
        state.start_session(user_id, &key.merchant_id, session);
        state.write_events(user_id, events);
        Ok(())
    }

    async fn create_email_account(
        &self,
        key: &EmailKey,
        code: &str,
        account: NewEmailAccount,
        session: NewSession,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.code_is(Identifier::Email(key), CodePurpose::EmailSignup, code)?;
        let claim = email_id(&key.merchant_id, key.email.as_str());
        require(!state.email_claims.contains_key(&claim) && !state.accounts.contains_key(&account.user_id))?;
        state.session_free(&account.user_id, &session)?;
        state.codes.remove(&code_id(Identifier::Email(key), CodePurpose::EmailSignup));
        state.email_claims.insert(claim, account.user_id.clone());
        let record = state.account_mut(&account.user_id);
        record.merchant_id = key.merchant_id.clone();
        record.email = Some(key.email.as_str().to_owned());
        record.status = AccountStatus::Active;
        record.password_history = vec![account.password_hash.clone()];
        record.password_hash = account.password_hash;
        record.valid_after = account.created_at;
        record.created_at = account.created_at;
        record.updated_at = account.created_at;
        record.profile_version = 1;
        state.start_session(&account.user_id, &key.merchant_id, session);
        state.write_events(&account.user_id, &account.events);
        Ok(())
    }
}

#[async_trait]
impl Profiles for MemoryStore {
    async fn add_phone(&self, a: PhoneAddition<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.code_is(Identifier::Phone(a.key), CodePurpose::PhoneAdd, a.code_id)?;
        require(state.phone_claims.get(&phone_id(a.key)).is_none_or(|c| c.status == AccountStatus::Pending))?;
        let account = state.account(a.user_id)?;
        require(account.status == AccountStatus::Active && account.phone.is_none())?;
        require(account.profile_version == a.expected_version && !account.factors.enrolled_since(a.issued_at))?;
        state.events_follow(a.user_id, &a.events)?;
        state.codes.remove(&code_id(Identifier::Phone(a.key), CodePurpose::PhoneAdd));
        let claim = PhoneClaim { user_id: a.user_id.to_owned(), status: AccountStatus::Active, expires_at: None };
        state.phone_claims.insert(phone_id(a.key), claim);
        let account = state.account_mut(a.user_id);
        account.phone = Some(a.key.phone.e164().to_owned());
        account.phone_confirmed_at = Some(a.now);
        account.phone_confirmed_for = account.phone.clone();
        account.kyc_level = a.kyc_level;
        account.profile_version += 1;
        state.write_events(a.user_id, &a.events);
        Ok(())
    }

    async fn move_phone(&self, m: PhoneMove<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.code_is(Identifier::Phone(m.new), CodePurpose::PhoneChange, m.code_id)?;
        require(state.phone_claims.get(&phone_id(m.new)).is_none_or(|c| c.status == AccountStatus::Pending))?;
        require(state.phone_claims.get(&phone_id(m.old)).is_some_and(|c| c.user_id == m.user_id))?;
        let account = state.account(m.user_id)?;
        require(account.status == AccountStatus::Active && account.phone.as_deref() == Some(m.old.phone.e164()))?;
        require(account.profile_version == m.expected_version && !account.factors.enrolled_since(m.issued_at))?;
        state.events_follow(m.user_id, &m.events)?;
        state.codes.remove(&code_id(Identifier::Phone(m.new), CodePurpose::PhoneChange));
        for purpose in CodePurpose::TO_ACCOUNT_CONTACT {
            state.codes.remove(&code_id(Identifier::Phone(m.old), purpose));
        }
        state.phone_claims.remove(&phone_id(m.old));
        let claim = PhoneClaim { user_id: m.user_id.to_owned(), status: AccountStatus::Active, expires_at: None };
        state.phone_claims.insert(phone_id(m.new), claim);
        let account = state.account_mut(m.user_id);
        account.phone = Some(m.new.phone.e164().to_owned());
        account.phone_confirmed_at = Some(m.now);
        account.phone_confirmed_for = account.phone.clone();
        account.profile_version += 1;
        state.write_events(m.user_id, &m.events);
        Ok(())
    }

    async fn start_email_confirmation(
        &self,
        user_id: &str,
        merchant_id: &str,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: i64,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        require(state.account(user_id)?.status == AccountStatus::Active)?;
        require(!state.email_tokens.contains_key(token_hash))?;
        state.log_unchanged(send)?;
        let account = state.account_mut(user_id);
        account.pending_email = Some(email.as_str().to_owned());
        account.pending_email_token = Some(token_hash.to_owned());
        let token = EmailTokenRecord {
            user_id: user_id.to_owned(),
            merchant_id: merchant_id.to_owned(),
            email: email.as_str().to_owned(),
            expires_at,
            used_at: None,
        };
        state.email_tokens.insert(token_hash.to_owned(), token);
        state.write_log(send);
        Ok(())
    }

    async fn email_token(&self, token_hash: &str) -> Result<Option<EmailTokenRecord>, StoreError> {
        Ok(self.state().await.email_tokens.get(token_hash).cloned())
    }

    async fn confirm_email(&self, c: EmailConfirmation<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        require(state.email_tokens.get(c.token_hash).is_some_and(|t| t.used_at.is_none()))?;
        let account = state.account(c.user_id)?;
        require(account.pending_email_token.as_deref() == Some(c.token_hash))?;
        require(account.profile_version == c.expected_version && !account.factors.enrolled_since(c.issued_at))?;
        let claim = email_id(c.merchant_id, c.email);
        require(state.email_claims.get(&claim).is_none_or(|owner| owner == c.user_id))?;
        state.events_follow(c.user_id, &c.events)?;
        let previous = c.previous_email.filter(|p| *p != c.email).map(|p| email_id(c.merchant_id, p));
        if let Some(previous) = &previous {
            require(state.email_claims.get(previous).is_some_and(|owner| owner == c.user_id))?;
            state.email_claims.remove(previous);
            for purpose in CodePurpose::TO_ACCOUNT_CONTACT {
                state.codes.remove(&format!("EMAIL#{previous}#{}", purpose.as_str()));
            }
        }
        if let Some(token) = state.email_tokens.get_mut(c.token_hash) {
            token.used_at = Some(c.now);
        }
        state.email_claims.insert(claim, c.user_id.to_owned());
        let account = state.account_mut(c.user_id);
        account.email = Some(c.email.to_owned());
        account.kyc_level = c.kyc_level;
        account.profile_version += 1;
        account.pending_email = None;
        account.pending_email_token = None;
        state.write_events(c.user_id, &c.events);
        Ok(())
    }

    async fn update_personal_details(
        &self,
        user_id: &str,
        changes: &PersonalDetails,
        kyc_level: KycLevel,
        expected_version: u64,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(user_id)?;
        require(account.status == AccountStatus::Active && account.profile_version == expected_version)?;
        state.events_follow(user_id, events)?;
        let account = state.account_mut(user_id);
        account.updated_at = now;
        account.details = account.details.merged(changes);
        account.kyc_level = kyc_level;
        account.profile_version += 1;
        state.write_events(user_id, events);
        Ok(())
    }

    async fn record_identity_review(
        &self,
        user_id: &str,
        merchant_id: &str,
        review: &IdentityReview,
        expected_version: u64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(user_id)?;
        let newer = account.identity_review.as_ref().is_none_or(|r| r.event_at_ms < review.event_at_ms);
        require(account.merchant_id == merchant_id && newer && account.profile_version == expected_version)?;
        state.events_follow(user_id, events)?;
        let account = state.account_mut(user_id);
        account.identity_review = Some(review.clone());
        account.profile_version += 1;
        state.write_events(user_id, events);
        Ok(())
    }
}

impl MemoryStore {
    /// The account that holds `e164` under any partner, if one does.
    pub async fn account_for_phone(&self, e164: &str) -> Option<String> {
        let state = self.state().await;
        state.phone_claims.iter().find(|(id, _)| id.ends_with(&format!("#{e164}"))).map(|(_, c)| c.user_id.clone())
    }

    /// The webhook events written so far, oldest first.
    pub async fn events(&self) -> Vec<EventRecord> {
        self.state().await.events.clone()
    }

    /// An event in the outbox, as a change's transaction writes it (for the deliverer's tests).
    pub async fn put_event(&self, event: EventRecord) {
        self.state().await.events.push(event);
    }

    /// What a password change elsewhere does to the account's sessions, without the change.
    pub fn bump_credentials(&self, user_id: &str) {
        if let Some(account) = self.0.lock().unwrap_or_else(|e| e.into_inner()).accounts.get_mut(user_id) {
            account.credential_version += 1;
        }
    }
}
