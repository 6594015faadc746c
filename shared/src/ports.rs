//! The capabilities the handlers need, as small traits. AWS code implements them in `adapters`;
//! tests wrap those real adapters to inject faults.

use async_trait::async_trait;

use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::domain::partner::Partner;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::phone::PhoneNumber;
use crate::domain::send_limits::{SendLog, SendReservation};
use crate::domain::signin_backoff::SigninBackoff;
use crate::security::code::CodePurpose;

/// Whether a store call failed because a condition did not hold (a race or a stale read, safe to
/// answer) or because the store itself failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a conditional write found the data changed")]
    Conflict,
    #[error("the store is throttling or unavailable: {0}")]
    Unavailable(String),
    #[error("the store failed: {0}")]
    Backend(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Signed up, phone not yet confirmed; expires if never confirmed.
    Pending,
    Active,
}

/// Which account, if any, holds a phone number under one partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneClaim {
    pub user_id: String,
    pub status: AccountStatus,
    /// Unix seconds after which a pending claim counts as free. `None` once active.
    pub expires_at: Option<i64>,
}

impl PhoneClaim {
    /// A pending claim past its expiry no longer holds the number, even if the table still has it.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A partner and a phone: the scope in which a phone number identifies one account.
#[derive(Debug, Clone)]
pub struct PhoneKey {
    pub merchant_id: String,
    pub phone: PhoneNumber,
}

/// A partner and an email address: the scope in which a confirmed address identifies one account.
#[derive(Debug, Clone)]
pub struct EmailKey {
    pub merchant_id: String,
    pub email: EmailAddress,
}

/// What names an account to its partner: a phone number or an email address. Codes and the
/// sign-in back-off are kept per identifier.
#[derive(Debug, Clone, Copy)]
pub enum Identifier<'a> {
    Phone(&'a PhoneKey),
    Email(&'a EmailKey),
}

impl Identifier<'_> {
    pub fn merchant_id(&self) -> &str {
        match self {
            Identifier::Phone(key) => &key.merchant_id,
            Identifier::Email(key) => &key.merchant_id,
        }
    }

    /// The phone in E.164 or the normalised address.
    pub fn address(&self) -> &str {
        match self {
            Identifier::Phone(key) => key.phone.e164(),
            Identifier::Email(key) => key.email.as_str(),
        }
    }
}

/// Whose sign-in failures a streak counts. Every password check is counted in two: the
/// identifier's (known or not, so unknown ones are throttled alike) and the account's, so guessing
/// by phone and by email draws on one budget. An identifier without an account counts in a streak
/// of its own in the account's place, so both cases read and write the same items.
#[derive(Debug, Clone, Copy)]
pub enum Streak<'a> {
    Identifier(Identifier<'a>),
    Account(&'a str),
}

/// Where a code, link or notice goes. Sends are limited per recipient, across partners, because
/// the cost and the annoyance fall on the number or the mailbox.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    Phone(&'a PhoneNumber),
    Email(&'a EmailAddress),
}

impl Recipient<'_> {
    /// A stable key for the recipient's send log. A sandbox partner sends nothing, so its requests
    /// are counted in a log of its own: they never use up a real user's limits.
    pub fn log_key(&self, partner: &Partner) -> String {
        let recipient = match self {
            Recipient::Phone(phone) => format!("SMS:{}", phone.e164()),
            Recipient::Email(email) => format!("EMAIL:{}", email.as_str()),
        };
        if partner.sandbox { format!("SANDBOX:{}:{recipient}", partner.id) } else { recipient }
    }
}

/// A confirmation code as stored: its MAC, never its digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub code_id: String,
    pub mac: String,
    pub user_id: String,
    pub expires_at: i64,
    pub attempts_left: u32,
}

pub struct NewPendingAccount {
    pub user_id: String,
    pub password_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A session family as it starts: its first refresh token, by hash.
pub struct NewSession {
    pub session_id: String,
    pub refresh_token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub fingerprint: Option<String>,
    /// The account's credential version when the password was checked (0 for a new account).
    pub credential_version: u64,
}

/// An account as the handlers see it.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub user_id: String,
    pub merchant_id: String,
    /// In E.164. An email-first account has none until it adds and confirms one.
    pub phone: Option<String>,
    pub status: AccountStatus,
    pub password_hash: String,
    /// Tokens and sessions from before this Unix second are dead (sign-out everywhere, password reset).
    pub valid_after: i64,
    /// The confirmed email address; it stays until a new one is confirmed.
    pub email: Option<String>,
    /// An address waiting for its link to be followed, and that link's token hash.
    pub pending_email: Option<String>,
    pub pending_email_token: Option<String>,
    pub details: PersonalDetails,
    /// Hashes of the current and previous passwords, newest first, at most five.
    pub password_history: Vec<String>,
    /// Bumped by every profile or email change: writes are conditional on it, so none is lost.
    pub profile_version: u64,
    /// Bumped by every password change or reset. A session works only while it carries the
    /// account's current version, so no session made with an old password outlives the change,
    /// whatever the interleaving.
    pub credential_version: u64,
    pub kyc_level: KycLevel,
}

impl AccountRecord {
    /// A phone-first account confirms its phone by activating; an email-first one by adding it.
    pub fn phone_confirmed(&self) -> bool {
        self.status == AccountStatus::Active && self.phone.is_some()
    }

    /// How sign-in attempts against this account are counted: by its phone, else by its email.
    pub fn sign_in_identifier(&self) -> Option<OwnedIdentifier> {
        if let Some(phone) = self.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()) {
            return Some(OwnedIdentifier::Phone(PhoneKey { merchant_id: self.merchant_id.clone(), phone }));
        }
        let email = self.email.as_deref().and_then(|e| EmailAddress::parse(e).ok())?;
        Some(OwnedIdentifier::Email(EmailKey { merchant_id: self.merchant_id.clone(), email }))
    }
}

/// An `Identifier` that owns its key.
#[derive(Debug, Clone)]
pub enum OwnedIdentifier {
    Phone(PhoneKey),
    Email(EmailKey),
}

impl OwnedIdentifier {
    pub fn as_ref(&self) -> Identifier<'_> {
        match self {
            OwnedIdentifier::Phone(key) => Identifier::Phone(key),
            OwnedIdentifier::Email(key) => Identifier::Email(key),
        }
    }
}

/// A new email-first account, created active with its address confirmed by a code.
pub struct NewEmailAccount {
    pub user_id: String,
    pub password_hash: String,
    pub user_type: String,
    pub created_at: i64,
}

/// Confirming a phone added to a signed-in account: everything that changes together.
pub struct PhoneAddition<'a> {
    pub key: &'a PhoneKey,
    pub code_id: &'a str,
    pub user_id: &'a str,
    pub kyc_level: KycLevel,
    pub expected_version: u64,
    pub now: i64,
}

/// A link token for confirming an email address, as stored (by hash).
#[derive(Debug, Clone)]
pub struct EmailTokenRecord {
    pub user_id: String,
    pub merchant_id: String,
    pub email: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Following a confirmation link: everything that changes together.
pub struct EmailConfirmation<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a str,
    pub merchant_id: &'a str,
    pub email: &'a str,
    /// The address this one replaces, whose uniqueness marker is released.
    pub previous_email: Option<&'a str>,
    pub kyc_level: KycLevel,
    pub expected_version: u64,
    pub now: i64,
}

/// A refresh token, found by its hash.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub user_id: String,
    pub merchant_id: String,
    pub session_id: String,
    pub expires_at: i64,
    /// When it was first exchanged for a new token; reuse is allowed only for a short grace after.
    pub rotated_at: Option<i64>,
}

/// A session family: every refresh token descended from one sign-in.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub session_id: String,
    pub merchant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    /// The account's credential version the session was made (or last re-authenticated) under.
    pub credential_version: u64,
}

impl SessionRecord {
    /// Live at `now` for an account at `credential_version`.
    pub fn is_live(&self, now: i64, credential_version: u64) -> bool {
        !self.revoked && self.expires_at > now && self.credential_version == credential_version
    }
}

/// A new password, and what goes with it.
pub struct PasswordChange<'a> {
    pub user_id: &'a str,
    pub expected_hash: &'a str,
    pub new_hash: String,
    pub history: Vec<String>,
    pub revoke_sessions: Vec<String>,
    /// The session that made the change, which keeps working (a change, not a reset).
    pub keep_session: Option<&'a str>,
    /// The account's credential version after the change.
    pub credential_version: u64,
    /// The phone and reset code this change consumes, if it is a reset.
    pub reset_code: Option<(&'a PhoneKey, &'a str)>,
    pub now: i64,
}

/// One refresh-token rotation: the presented token, the new one, and the grace window.
pub struct Rotation<'a> {
    pub presented_hash: &'a str,
    pub user_id: &'a str,
    pub merchant_id: &'a str,
    pub session_id: &'a str,
    pub new_hash: String,
    pub now: i64,
    /// The presented token may already be rotated, but not before this time.
    pub rotated_not_before: i64,
    pub expires_at: i64,
}

/// What `issue_code` stores: a code that was sent, or a decoy that was not (see
/// `handlers::delivery::decoy_code`).
#[derive(Debug, Clone)]
pub enum IssuedCode {
    /// Stored only while what the purpose needs still holds: a pending signup of the code's user
    /// (phone signup), an active account of the code's user (password reset), an address nobody
    /// has confirmed (email signup), an active account of the code's user without a phone (phone
    /// add). `Conflict` otherwise.
    Sent(StoredCode),
    /// Stored unconditionally: there is nothing it could be issued against.
    Decoy(StoredCode),
}

/// Finding an account: by id, by phone, by confirmed email address.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn account(&self, user_id: &str) -> Result<Option<AccountRecord>, StoreError>;

    async fn phone_claim(&self, key: &PhoneKey) -> Result<Option<PhoneClaim>, StoreError>;

    /// The account (of this partner) whose confirmed address `email` is, if any.
    async fn email_owner(&self, merchant_id: &str, email: &EmailAddress) -> Result<Option<String>, StoreError>;
}

/// Signing up: pending phone accounts and their activation, email-first accounts.
#[async_trait]
pub trait Signups: Send + Sync {
    /// Claims the phone for a new pending account, stores its code and records the SMS send.
    /// `Conflict` if the phone is claimed (by a live claim) or the SMS log moved on.
    async fn create_pending_account(
        &self,
        key: &PhoneKey,
        account: NewPendingAccount,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError>;

    /// Replaces the password of a still-pending account and its code, and records the SMS send.
    async fn replace_pending_password(
        &self,
        key: &PhoneKey,
        user_id: &str,
        password_hash: String,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError>;

    /// Consumes the code, activates the account and starts its first session, all or nothing.
    /// `Conflict` if the code was already consumed or the account is no longer pending.
    async fn activate_account(
        &self,
        key: &PhoneKey,
        code_id: &str,
        user_id: &str,
        session: NewSession,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Consumes the signup code, creates the account with its confirmed address, claims the
    /// address and starts the first session, all or nothing. `Conflict` if the code was consumed
    /// or the address claimed.
    async fn create_email_account(
        &self,
        key: &EmailKey,
        code_id: &str,
        account: NewEmailAccount,
        session: NewSession,
    ) -> Result<(), StoreError>;
}

/// What a signed-in user changes about their account: a phone, an email address, their details.
#[async_trait]
pub trait Profiles: Send + Sync {
    /// Consumes the code, claims the phone (free, or held only by a pending signup) and sets it on
    /// an account that has none. `Conflict` if any of that no longer holds.
    async fn add_phone(&self, addition: PhoneAddition<'_>) -> Result<(), StoreError>;

    /// Records `email` as waiting for confirmation with a new link token (the previous link dies),
    /// and the send, in one transaction. `Conflict` if the send log moved on.
    async fn start_email_confirmation(
        &self,
        user_id: &str,
        merchant_id: &str,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: i64,
        send: &SendReservation,
    ) -> Result<(), StoreError>;

    async fn email_token(&self, token_hash: &str) -> Result<Option<EmailTokenRecord>, StoreError>;

    /// Marks the token used, makes the address the account's confirmed email, claims it and
    /// releases the previous one. `Conflict` if the token was used or replaced, the address was
    /// claimed by another account, or the profile moved on.
    async fn confirm_email(&self, confirmation: EmailConfirmation<'_>) -> Result<(), StoreError>;

    /// Writes the given (already merged and validated) details and the KYC level they give, if the
    /// profile is still at `expected_version`.
    async fn update_personal_details(
        &self,
        user_id: &str,
        changes: &PersonalDetails,
        kyc_level: KycLevel,
        expected_version: u64,
    ) -> Result<(), StoreError>;
}

/// One-time codes, for every purpose alike.
#[async_trait]
pub trait Codes: Send + Sync {
    async fn code(&self, who: Identifier<'_>, purpose: CodePurpose) -> Result<Option<StoredCode>, StoreError>;

    /// Stores a code (killing the previous one of the same purpose) and records its send, in one
    /// transaction. `Conflict` if the send log moved on, or what the purpose needs no longer holds.
    async fn issue_code(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: IssuedCode,
        send: &SendReservation,
    ) -> Result<(), StoreError>;

    /// Spends one attempt on a live code before it is compared, so parallel guesses can never
    /// exceed the limit. Returns the attempts left, or `None` if the code is gone, used up or expired.
    async fn spend_code_attempt(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError>;
}

/// The log of sends to each phone and mailbox, which the per-recipient limits read.
#[async_trait]
pub trait SendLogs: Send + Sync {
    /// The send log named by `key` (`Recipient::log_key`).
    async fn send_log(&self, key: &str) -> Result<SendLog, StoreError>;

    /// Records a send that changes nothing else (a notice to an existing account).
    async fn record_send(&self, send: &SendReservation) -> Result<(), StoreError>;

    /// Undoes a recorded send whose SMS never left, so a retry is not held back by the cooldown.
    async fn release_send(&self, send: &SendReservation) -> Result<(), StoreError>;
}

/// The sign-in failure streaks behind the back-off.
#[async_trait]
pub trait SigninStreaks: Send + Sync {
    async fn signin_backoff(&self, streak: Streak<'_>) -> Result<SigninBackoff, StoreError>;

    /// Writes each streak's next state, all or nothing, if none was written since it was read
    /// (`Conflict` otherwise): how a password check is reserved before it is made.
    async fn record_signin_attempt(&self, next: &[(Streak<'_>, SigninBackoff)]) -> Result<(), StoreError>;

    async fn clear_signin_failures(&self, streaks: &[Streak<'_>]) -> Result<(), StoreError>;
}

/// Session families and their refresh tokens.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Starts a session family with its first refresh token, if the account's password is still
    /// `checked_hash`, the one the sign-in verified (`Conflict` otherwise).
    async fn start_session(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
        checked_hash: &str,
    ) -> Result<(), StoreError>;

    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError>;

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Every session family of the user.
    async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError>;

    /// Marks the presented token rotated (keeping the first rotation time) and stores its successor,
    /// if the presented token is unrotated or inside its grace and the session is live.
    /// `Conflict` otherwise.
    async fn rotate_refresh_token(&self, rotation: Rotation<'_>) -> Result<(), StoreError>;

    /// Revokes a session family: none of its refresh or access tokens works after this.
    async fn revoke_session(&self, user_id: &str, session_id: &str, now: i64) -> Result<(), StoreError>;
}

/// Setting a password (change and reset).
#[async_trait]
pub trait Passwords: Send + Sync {
    /// Sets a new password, its history and the next credential version, if the current hash is
    /// still `expected_hash`, and revokes the given sessions, in one transaction. With
    /// `reset_code`, also consumes that code and moves the account's "valid after" time to `now`.
    async fn set_password(&self, change: PasswordChange<'_>) -> Result<(), StoreError>;
}

/// Everything the handlers keep: each capability above, which one table serves. A helper asks
/// only for the capability it uses (`&dyn Codes`); `App` holds the whole.
pub trait AccountStore:
    Directory + Signups + Profiles + Codes + SendLogs + SigninStreaks + Sessions + Passwords
{
}

impl<T> AccountStore for T where
    T: Directory + Signups + Profiles + Codes + SendLogs + SigninStreaks + Sessions + Passwords
{
}

/// The partner registry. Writes are conditional, so two admins never overwrite each other.
#[async_trait]
pub trait PartnerRegistry: Send + Sync {
    async fn partner(&self, id: &str) -> Result<Option<Partner>, StoreError>;
    async fn partners(&self) -> Result<Vec<Partner>, StoreError>;
    /// `Conflict` if a partner with this id exists.
    async fn add_partner(&self, partner: &Partner) -> Result<(), StoreError>;
    /// Replaces the partner; `Conflict` unless the stored one was last updated at `read_at`.
    async fn update_partner(&self, partner: &Partner, read_at: i64) -> Result<(), StoreError>;
}

/// A named counter that lives until `expires_at` (rate-limit windows, daily budgets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey {
    pub name: String,
    pub expires_at: i64,
}

/// Atomic counters.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one unless the counter already reached `limit`; whether it did.
    async fn increment_below(&self, key: &CounterKey, limit: u64) -> Result<bool, StoreError>;
    /// Takes one back (a counted send that did not happen).
    async fn decrement(&self, key: &CounterKey) -> Result<(), StoreError>;
    /// Adds `member` to the set unless the set already holds `limit` others; whether `member` is
    /// in it now (a member already there is always admitted again).
    async fn admit_member(&self, key: &CounterKey, member: &str, limit: u64) -> Result<bool, StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("the message was not sent: {0}")]
pub struct SendError(pub String);

/// An email with an HTML and a plain-text part.
#[derive(Debug, Clone)]
pub struct EmailMessage {
    /// The partner's own From address; the deployment's when `None`.
    pub from: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Sends an email.
#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, to: &EmailAddress, message: &EmailMessage) -> Result<(), SendError>;
}

/// Sends a text message to a phone.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError>;
}

/// The time, as Unix seconds. A port so tests can move past a code's lifetime.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}
