//! The capabilities the handlers need, as small traits. AWS code implements them in `adapters`;
//! tests wrap those real adapters to inject faults.

use async_trait::async_trait;

use crate::domain::phone::PhoneNumber;
use crate::domain::sms_limits::{SmsLog, SmsReservation};
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
}

/// Accounts, phone claims, codes and sessions. Every multi-item change is one transaction.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn phone_claim(&self, key: &PhoneKey) -> Result<Option<PhoneClaim>, StoreError>;

    /// Claims the phone for a new pending account, stores its code and records the SMS send.
    /// `Conflict` if the phone is claimed (by a live claim) or the SMS log moved on.
    async fn create_pending_account(
        &self,
        key: &PhoneKey,
        account: NewPendingAccount,
        code: StoredCode,
        sms: &SmsReservation,
    ) -> Result<(), StoreError>;

    /// Replaces the password of a still-pending account and its code, and records the SMS send.
    async fn replace_pending_password(
        &self,
        key: &PhoneKey,
        user_id: &str,
        password_hash: String,
        code: StoredCode,
        sms: &SmsReservation,
    ) -> Result<(), StoreError>;

    /// Stores a new code (killing the previous one) for a still-pending account, and records the send.
    async fn replace_pending_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        sms: &SmsReservation,
    ) -> Result<(), StoreError>;

    async fn sms_log(&self, phone: &PhoneNumber) -> Result<SmsLog, StoreError>;

    /// Records a send that changes nothing else (a notice to an existing account).
    async fn record_sms(&self, phone: &PhoneNumber, sms: &SmsReservation)
    -> Result<(), StoreError>;

    /// Undoes a recorded send whose SMS never left, so a retry is not held back by the cooldown.
    async fn release_sms(
        &self,
        phone: &PhoneNumber,
        sms: &SmsReservation,
    ) -> Result<(), StoreError>;

    async fn code(
        &self,
        key: &PhoneKey,
        purpose: CodePurpose,
    ) -> Result<Option<StoredCode>, StoreError>;

    /// Spends one attempt on a live code before it is compared, so parallel guesses can never
    /// exceed the limit. Returns the attempts left, or `None` if the code is gone, used up or expired.
    async fn spend_code_attempt(
        &self,
        key: &PhoneKey,
        purpose: CodePurpose,
        code_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError>;

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
}

#[derive(Debug, thiserror::Error)]
#[error("the SMS was not sent: {0}")]
pub struct SendError(pub String);

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
