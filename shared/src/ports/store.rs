//! The store's capabilities, one trait each, and `AccountStore`, which joins them.

use async_trait::async_trait;

use super::StoreError;
use super::factors::Factors;
use super::keys::{EmailKey, Identifier, PhoneKey, Streak};
use super::records::*;
use crate::domain::email::EmailAddress;
use crate::domain::identity_review::IdentityReview;
use crate::domain::kyc::KycLevel;
use crate::domain::partner::Partner;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::send_limits::{SendLog, SendReservation};
use crate::domain::signin_backoff::SigninBackoff;
use crate::security::code::CodePurpose;
use crate::webhooks::delivery_log::DeliveryAttempt;
use crate::webhooks::endpoints::{SecretRotation, WebhookEndpoint};
use crate::webhooks::event::EventKey;
use crate::webhooks::event::EventRecord;

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
        events: &[EventRecord],
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

    /// Consumes the code, claims the new phone (free, or held only by a pending signup), releases
    /// the old one and sets the new one on the account, if the account still has the old one at
    /// `expected_version`. Sessions are untouched. `Conflict` if any of that no longer holds.
    async fn move_phone(&self, change: PhoneMove<'_>) -> Result<(), StoreError>;

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
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;

    /// Records Sumsub's verdict on the account of `merchant_id`'s user, if it is newer than the one
    /// recorded and the profile is still at `expected_version` (which it moves on: the KYC level
    /// shown combines the verdict with the details rule, so a details, phone or email change and a
    /// verdict must not both commit on one read, or the level's event would be computed from a stale
    /// half). `Conflict` if not (a retried or older event, a change since the read), or if no such
    /// account exists.
    async fn record_identity_review(
        &self,
        user_id: &str,
        merchant_id: &str,
        review: &IdentityReview,
        expected_version: u64,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;
}

/// A partner's webhook endpoints (`webhooks::endpoints`).
#[async_trait]
pub trait WebhookEndpoints: Send + Sync {
    /// Keeps a new endpoint; `Conflict` if its id exists.
    async fn add_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;

    /// The partner's endpoints, oldest first.
    async fn endpoints(&self, partner_id: &str) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Removes one; `Ok(false)` if the partner has no such endpoint.
    async fn remove_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError>;

    /// One endpoint, read at delivery (it may have been removed or disabled since the dispatch).
    async fn endpoint(&self, partner_id: &str, id: &str) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Notes that a delivery to an endpoint succeeded at `at`, if the last note is an hour old or
    /// more (so at most one write an hour an endpoint); nothing if the endpoint is gone.
    async fn delivered(&self, partner_id: &str, id: &str, at: i64) -> Result<(), StoreError>;

    /// Stops deliveries to an endpoint, saying why; `Ok(false)` if it is gone or already disabled
    /// (the first reason stands).
    async fn disable_endpoint(&self, partner_id: &str, id: &str, reason: &str, at: i64) -> Result<bool, StoreError>;

    /// Posts to a disabled endpoint again; `Ok(false)` if it is gone or not disabled.
    async fn enable_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Tells `contact` when the endpoint is disabled, instead of whoever it told; `Ok(false)` if
    /// the endpoint is gone.
    async fn set_notify(&self, partner_id: &str, id: &str, contact: &EmailAddress) -> Result<bool, StoreError>;

    /// Replaces the endpoint's secret as `rotation` says, if the secret is still the one it
    /// replaces; `Ok(false)` if not, or the endpoint is gone.
    async fn rotate_secret(&self, partner_id: &str, id: &str, rotation: SecretRotation<'_>)
    -> Result<bool, StoreError>;
}

/// Each delivery attempt to an endpoint, kept for the partner's operator to read
/// (`partners webhooks log`) until its TTL.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError>;

    /// The endpoint's attempts, newest first, at most `limit`.
    async fn attempts(
        &self,
        partner_id: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
}

/// The webhook outbox, read: one event item, by the key the table's stream gives.
#[async_trait]
pub trait EventOutbox: Send + Sync {
    /// `None` once it is gone: deleted with an erased account (an event naming a contact detail)
    /// or past its retention.
    async fn event(&self, key: &EventKey) -> Result<Option<EventRecord>, StoreError>;

    /// The partner's events whose ids were made from `from_ms` to `to_ms` (Unix milliseconds, both
    /// included), with their keys: what a replay of a time range sends again. At most `limit` (which
    /// ones, when there are more, is not said: a caller asks for one more than it takes, to know).
    /// An event past its TTL may still be among them until DynamoDB deletes it.
    async fn events_between(
        &self,
        partner_id: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<(EventKey, EventRecord)>, StoreError>;
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

    /// Ends a live session and writes the partner's `account.sessions_ended` with it, all or
    /// nothing: `Conflict` if the session is gone or already ended, or the account's event count
    /// moved since `events` were numbered (nothing is written then).
    async fn end_session_reported(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;

    /// Marks that the owner is told of a sign-in from `device` (a digest of its fingerprint) until
    /// `expires_at`, unless a mark made before is still live: whether this call made it. Of
    /// parallel sign-ins from one new device, only the one that made the mark tells the owner.
    async fn mark_device_told(
        &self,
        user_id: &str,
        device: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Removes the mark again (the sign-in that made it started no session, so told nobody).
    async fn unmark_device(&self, user_id: &str, device: &str) -> Result<(), StoreError>;
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
    Directory + Signups + Profiles + Codes + SendLogs + SigninStreaks + Sessions + Passwords + Factors
{
}

impl<T> AccountStore for T where
    T: Directory + Signups + Profiles + Codes + SendLogs + SigninStreaks + Sessions + Passwords + Factors
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

/// Deleting an account and everything kept about it, in two steps: a sweep that can be repeated,
/// then one transaction. Apart from `AccountStore` so tests can wrap it to fail between the steps.
#[async_trait]
pub trait AccountDeletions: Send + Sync {
    /// Deletes every session of the account (so none of its tokens can be used or rotated again),
    /// then every refresh token and link token filed under it, every code it was sent (or decoy
    /// stored for it) under a number not its own that is still its own code (phone add and
    /// change), and its device marks. Idempotent: a sweep cut short is finished by the next one.
    /// Leaves the account and its claims, so an account whose deletion stops here can still sign
    /// in and be deleted again.
    async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError>;

    /// One transaction: deletes the account, if it is as read before the sweep (active, same
    /// password, no session started, no code sent to a new number, same profile version, phone,
    /// email and pending link), its phone and email claims, every code and sign-in streak of its
    /// phone, address and account, its pending link token, and writes the deletion record.
    /// `Conflict` if the account changed or is gone.
    async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError>;

    /// The partner's deletion records, oldest first.
    async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError>;
}

/// A named counter that lives until `expires_at` (rate-limit windows, daily budgets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey {
    pub name: String,
    pub expires_at: i64,
}

/// What counting a new recipient of an account came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The account reached its limit of recipients for the day.
    Full,
    /// The account is not active (deleted meanwhile).
    AccountGone,
}

/// Atomic counters.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one unless the counter already reached `limit`; whether it did.
    async fn increment_below(&self, key: &CounterKey, limit: u64) -> Result<bool, StoreError>;
    /// Takes one back (a counted send that did not happen).
    async fn decrement(&self, key: &CounterKey) -> Result<(), StoreError>;
    /// Adds `member` to the set of the account `user_id` unless the set already holds `limit`
    /// others (a member already there is always admitted again), and only while the account is
    /// active: a count after the account's erasure fails, so no set of it outlives it. `Conflict`
    /// when a transaction in flight on either item got in the way (worth trying again).
    async fn admit_recipient(
        &self,
        key: &CounterKey,
        member: &str,
        limit: u64,
        user_id: &str,
    ) -> Result<Admission, StoreError>;
    /// Forgets the counter or set (an account's recipients, when the account is deleted).
    async fn remove(&self, key: &CounterKey) -> Result<(), StoreError>;
}
