//! What the store keeps and returns: accounts, claims, codes, sessions, and the changes that go
//! together in one transaction.

use super::factors::AccountFactors;
use super::keys::{EmailKey, Identifier, PhoneKey};
use crate::domain::email::EmailAddress;
use crate::domain::identity_review::IdentityReview;
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::phone::PhoneNumber;
use crate::factors::assurance::Assurance;
use crate::webhooks::event::EventRecord;

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
#[derive(Clone)]
pub struct NewSession {
    pub session_id: String,
    pub refresh_token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub fingerprint: Option<String>,
    /// The account's credential version when the password was checked (0 for a new account).
    pub credential_version: u64,
    /// What the sign-in proved, and when: every token of the family carries it.
    pub assurance: Assurance,
}

/// How long a phone added to or moved onto an account waits before a code to it can step a session
/// up for a first enrolment: a day.
pub const PHONE_SETTLE_SECS: i64 = 24 * 3600;

/// An account as the handlers see it.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub user_id: String,
    pub merchant_id: String,
    /// In E.164. An email-first account has none until it adds and confirms one.
    pub phone: Option<String>,
    /// When a phone was last added or moved to, and which (`phone_settled` trusts the time only
    /// for that number: a phone written by a build that kept no record has neither).
    pub phone_confirmed_at: Option<i64>,
    pub phone_confirmed_for: Option<String>,
    /// The number a phone-first account signed up with (none for email-first accounts and for
    /// accounts made before it was kept).
    pub signup_phone: Option<String>,
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
    /// The KYC_0 rule's result, as last written; `shown_kyc_level` adds Sumsub's review.
    pub kyc_level: KycLevel,
    /// Sumsub's newest verdict on this account's identity, if it sent one.
    pub identity_review: Option<IdentityReview>,
    /// When the account was made (its signup).
    pub created_at: i64,
    /// When its phone, email, details or password last changed; its creation until then.
    pub updated_at: i64,
    /// Sessions started by sign-ins so far: an erasure is refused if a sign-in started one since
    /// it swept the account, so no session outlives the account.
    pub sessions_started: u64,
    /// Codes (and decoys) stored for this account under numbers not its own, by phone add and
    /// change: each is filed in the account's index, and an erasure is refused if one was filed
    /// since it read the account, so none outlives the account.
    pub phone_codes_issued: u64,
    /// Its second factors (none for most accounts), and the challenges started.
    pub factors: AccountFactors,
    /// The partner's webhook events reported about this account so far: the next change that
    /// reports one writes this plus one, on condition that it is still this (`EventRecord::after`).
    pub event_sequence: u64,
}

impl AccountRecord {
    /// The level the account holds: KYC_0 by its own data, KYC_1 once Sumsub approved it too.
    pub fn shown_kyc_level(&self) -> KycLevel {
        KycLevel::shown(self.kyc_level, self.identity_review.as_ref())
    }

    /// A phone-first account confirms its phone by activating; an email-first one by adding it.
    pub fn phone_confirmed(&self) -> bool {
        self.status == AccountStatus::Active && self.phone.is_some()
    }

    /// Whether the confirmed phone has been the account's long enough (`PHONE_SETTLE_SECS`, or
    /// since signup) to stand in as the second element of a first enrolment: a phone just moved or
    /// added with the password alone must not let whoever moved it enrol a factor of their own
    /// before the owner, told on the old number, can react.
    ///
    /// Known only from records this build keeps: the time a phone was added or moved, for that
    /// number; the number the account signed up with (settled at once). A phone neither names (the
    /// account predates them, or a build that kept no record, such as the old half of a canary,
    /// moved it) counts from the account's last change (`updated_at`, which every phone write
    /// moves): later than the truth at worst, never earlier.
    pub fn phone_settled(&self, now: i64) -> Result<(), i64> {
        let Some(phone) = self.phone.as_deref() else { return Ok(()) };
        let since = match (&self.phone_confirmed_for, self.phone_confirmed_at, &self.signup_phone) {
            (Some(moved_to), Some(at), _) if moved_to == phone => at,
            (_, _, Some(signed_up_with)) if signed_up_with == phone => return Ok(()),
            _ => self.updated_at,
        };
        if since + PHONE_SETTLE_SECS > now { Err(since + PHONE_SETTLE_SECS - now) } else { Ok(()) }
    }

    /// The account's confirmed phone, where a code for the account itself (a step-up) goes.
    pub fn confirmed_phone_key(&self) -> Option<PhoneKey> {
        let phone = self.phone.as_deref().filter(|_| self.phone_confirmed())?;
        Some(PhoneKey { merchant_id: self.merchant_id.clone(), phone: PhoneNumber::parse(phone).ok()? })
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
    /// The phone or address with most of it hidden, as notices and logs show it.
    pub fn masked(&self) -> String {
        match self {
            OwnedIdentifier::Phone(key) => key.phone.masked(),
            OwnedIdentifier::Email(key) => key.email.masked(),
        }
    }
}

/// A new email-first account, created active with its address confirmed by a code.
pub struct NewEmailAccount {
    pub user_id: String,
    pub password_hash: String,
    pub user_type: String,
    pub created_at: i64,
    /// The partner's `account.created`, the account's first event.
    pub events: Vec<EventRecord>,
}

/// Confirming a phone added to a signed-in account: everything that changes together.
pub struct PhoneAddition<'a> {
    pub key: &'a PhoneKey,
    pub code_id: &'a str,
    pub user_id: &'a str,
    pub kyc_level: KycLevel,
    pub expected_version: u64,
    /// When the code went out: a second factor enrolled at or after it makes the addition fail
    /// (the code was sent without the step-up the factor asks for).
    pub issued_at: i64,
    pub now: i64,
    /// The partner's `account.phone_changed` (and `account.kyc_level_changed` if the level moved).
    pub events: Vec<EventRecord>,
}

/// Moving a signed-in account to a new number it proved with a code: everything that changes
/// together (the new claim taken, the old one released, the account's phone replaced).
pub struct PhoneMove<'a> {
    pub new: &'a PhoneKey,
    pub old: &'a PhoneKey,
    pub code_id: &'a str,
    pub user_id: &'a str,
    pub expected_version: u64,
    /// When the code went out: a second factor enrolled at or after it makes the move fail (the
    /// code was sent without the step-up the factor asks for, and the SMS factor would follow the
    /// phone to the new number).
    pub issued_at: i64,
    pub now: i64,
    /// The partner's `account.phone_changed`.
    pub events: Vec<EventRecord>,
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
    /// When the link went out: a second factor enrolled at or after it makes the confirmation fail
    /// (the link was sent without the step-up the factor asks for).
    pub issued_at: i64,
    pub now: i64,
    /// The partner's `account.email_changed` (and `account.kyc_level_changed` if the level moved).
    pub events: Vec<EventRecord>,
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
    /// What the chain of tokens it belongs to proved, and when: its session's sign-in, or the
    /// step-up that minted it (a step-up raises its own successors, never a sibling chain made by a
    /// copy of a token used inside the grace). `None` for a token written before tokens carried it:
    /// the session's sign-in then.
    pub assurance: Option<Assurance>,
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
    /// When its refresh token was last used (its start, until then).
    pub last_used_at: i64,
    /// The `X-Fingerprint` the app sent when the session started.
    pub fingerprint: Option<String>,
    /// What its sign-in proved, and when: what a refresh token written before tokens carried
    /// their own assurance falls back to (a step-up raises its token chain, not the session).
    pub assurance: Assurance,
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
    /// The phone or address and the reset code this change consumes, if it is a reset.
    pub reset_code: Option<(Identifier<'a>, &'a str)>,
    pub now: i64,
    /// The partner's `account.password_changed`, written with the change.
    pub events: Vec<EventRecord>,
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
    /// What the successor carries: the presented token's assurance, or a step-up's.
    pub assurance: &'a Assurance,
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

/// Where a deletion was asked for: in the app (bearer and password) or on the web page (an SMS code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionChannel {
    App,
    Web,
}

impl DeletionChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionChannel::App => "app",
            DeletionChannel::Web => "web",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "app" => Some(DeletionChannel::App),
            "web" => Some(DeletionChannel::Web),
            _ => None,
        }
    }
}

/// What a partner keeps of a deleted account for its books: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionRecord {
    pub user_id: String,
    pub merchant_id: String,
    pub deleted_at: i64,
    pub channel: DeletionChannel,
}

/// The last step of deleting an account, after the sweep: the account as read after the sweep, and
/// the record that says it was deleted.
pub struct Erasure<'a> {
    pub account: &'a AccountRecord,
    pub record: &'a DeletionRecord,
}
