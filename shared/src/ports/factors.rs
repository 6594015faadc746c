//! Second factors as the store keeps them, and the sign-in challenge a right password opens when
//! the account has one.
//!
//! The factors live on the account item (`totp*`, `recovery*` attributes), so they go with the
//! account when it is erased, and every write to them is conditional on the account as read. A
//! challenge is an item of its own, found by the SHA-256 of its token (`MFA#<digest>`), filed in
//! the account's index so a deletion's sweep deletes it, and counted on the account
//! (`mfaChallenges`), so an erasure that read the account before a challenge started is refused and
//! the next round sweeps it.

use async_trait::async_trait;

use super::{NewSession, PhoneKey, Rotation, StoreError};
use crate::factors::assurance::Method;
use crate::webhooks::event::EventRecord;

/// An authenticator app's factor (TOTP), once its enrolment was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// Changes with every enrolment, so a write meant for one factor never lands on its successor.
    pub factor_id: String,
    /// The secret, sealed by `SecretSealer` (KMS) for this account: never in the clear at rest.
    pub sealed_secret: String,
    pub created_at: i64,
    /// The last time step a code was accepted for; no code of it or before it is accepted again.
    pub last_used_step: Option<i64>,
    /// Wrong codes since the last success (a code or a recovery code); at the ceiling
    /// (`WRONG_CODE_CEILING`) the app's codes are refused until a recovery code.
    pub wrong_codes: u64,
}

/// Wrong authenticator codes an account takes between successes (NIST SP 800-63B 5.2.2), on top
/// of the back-off that slows each streak: then the app's codes are refused, right or wrong, until
/// a recovery code (or the partner's support) opens the account again, and the owner is told.
pub const WRONG_CODE_CEILING: u64 = 100;

impl TotpFactor {
    /// Whether the app's codes are refused until a recovery code is used (`WRONG_CODE_CEILING`).
    pub fn blocked(&self) -> bool {
        self.wrong_codes >= WRONG_CODE_CEILING
    }
}

/// Codes by SMS to the account's confirmed phone as its second factor (an email-first account's, or
/// a phone-first one's that also has a confirmed address): the phone itself is the account's, so
/// the factor keeps no number; it follows the phone through a change made at `aal2`. While it is
/// there, the password is reset by email only (`password_reset`): the same SIM must not both reset
/// the password and pass the second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsFactor {
    pub factor_id: String,
    pub created_at: i64,
    /// The last time a code completed a sign-in or a step-up (the export and the list show it).
    pub last_used_at: Option<i64>,
}

/// The account's recovery codes: what is left of the set, as MACs under the set's own key
/// (`factors::recovery`), which is kept sealed as a TOTP secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverySet {
    pub set_id: String,
    pub sealed_key: String,
    pub remaining: Vec<String>,
    pub created_at: i64,
}

/// An authenticator app being enrolled: made and shown, not yet proved by a code from the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTotp {
    pub factor_id: String,
    pub sealed_secret: String,
    pub expires_at: i64,
    /// Codes the enrolment still takes before it must be started again (each spent before the
    /// code is compared, as for every code).
    pub attempts_left: u32,
}

/// Codes an enrolment takes before it must be started again.
pub const ENROLMENT_ATTEMPTS: u32 = 5;

/// Which of an account's second factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// An authenticator app (`totp*` attributes).
    Totp,
    /// Codes by SMS to the confirmed phone (`smsFactor*` attributes).
    Sms,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Sms => "sms",
        }
    }
}

/// Removing the factor `factor_id` and, with it, the recovery codes (they stand in for a factor the
/// account no longer has: an account has one second factor at a time), with what else must die
/// with it.
pub struct FactorRemoval<'a> {
    pub user_id: &'a str,
    pub kind: FactorKind,
    pub factor_id: &'a str,
    /// The account's confirmed phone: a code the deletion page sent to it, which refused this
    /// account because of its factor and was left unused, dies too (it would now delete).
    pub phone: Option<&'a PhoneKey>,
    /// A removal by the partner's support for a user who lost both the app and the codes: its
    /// record, written in the same transaction, and the account's count of sessions started as
    /// read after every session was ended (a sign-in completed since then makes the removal fail,
    /// so no session outlives it).
    pub record: Option<(&'a FactorRemovalRecord, u64)>,
    /// The partner's `account.factor_removed`.
    pub events: Vec<EventRecord>,
}

/// A removal of an account's second factors by its partner's support (the user lost both the app
/// and the recovery codes): what the partner can list afterwards. No personal data: the user id,
/// the time, and the partner's own reference (a ticket id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorRemovalRecord {
    pub merchant_id: String,
    pub user_id: String,
    pub removed_at: i64,
    pub reference: String,
}

/// What a verified enrolment writes: the factor, and the recovery codes made with the first one.
pub struct TotpConfirmation<'a> {
    pub user_id: &'a str,
    pub factor_id: &'a str,
    /// The step of the code that proved the app: no code of it or before it is accepted again.
    pub step: i64,
    /// A new recovery set (the first factor's), as sealed key and MACs; `None` keeps the set.
    pub recovery: Option<RecoverySet>,
    pub now: i64,
    /// The partner's `account.factor_added`.
    pub events: Vec<EventRecord>,
}

/// What an SMS factor's enrolment writes: the factor and the first recovery codes, if the account
/// still has no factor, its phone is still the one read and its confirmed address is still there
/// (the channel its password is then reset by); and the password-reset code of the phone, if one
/// is waiting, deleted (a reset by SMS no longer applies to the account).
pub struct SmsEnrolment<'a> {
    pub user_id: &'a str,
    pub factor_id: &'a str,
    pub phone: &'a PhoneKey,
    pub email: &'a str,
    /// The password hash the step-up checked: a reset that committed since (by whoever held the
    /// phone) makes the enrolment fail, so the factor never lands on a password the owner did not choose.
    pub checked_hash: &'a str,
    pub recovery: RecoverySet,
    pub now: i64,
    /// The partner's `account.factor_added`.
    pub events: Vec<EventRecord>,
}

/// What protects an account beyond its password: one second factor at a time (an authenticator
/// app or codes by SMS), and the recovery codes made with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFactors {
    pub totp: Option<TotpFactor>,
    pub sms: Option<SmsFactor>,
    /// An enrolment waiting for its first code (at most one; a new one replaces it).
    pub pending_totp: Option<PendingTotp>,
    pub recovery: Option<RecoverySet>,
    /// Challenges started so far: an erasure is conditional on it, as on `sessionsStarted`.
    pub mfa_challenges: u64,
}

impl AccountFactors {
    /// Whether a right password alone is not enough to sign in. Recovery codes come with a factor
    /// and are a way round a lost one, not a factor of their own.
    pub fn has_second_factor(&self) -> bool {
        self.totp.is_some() || self.sms.is_some()
    }

    /// The enrolled factor, by kind and id (an account has one at a time).
    pub fn enrolled(&self) -> Option<(FactorKind, &str)> {
        match (&self.totp, &self.sms) {
            (Some(totp), _) => Some((FactorKind::Totp, totp.factor_id.as_str())),
            (None, Some(sms)) => Some((FactorKind::Sms, sms.factor_id.as_str())),
            (None, None) => None,
        }
    }

    /// Whether a factor was enrolled at or after `at`: something the account's owner (or a thief
    /// with the password) started before that, without the step-up the factor would have asked
    /// for (a code to a new phone, a link to a new address), must not finish after it.
    pub fn enrolled_since(&self, at: i64) -> bool {
        self.totp.as_ref().is_some_and(|totp| totp.created_at >= at)
            || self.sms.as_ref().is_some_and(|sms| sms.created_at >= at)
    }

    /// The methods the account's enrolled factors prove, as the step-up rules name them (empty:
    /// no factor).
    pub fn enrolled_methods(&self) -> Vec<Method> {
        let app = self.totp.iter().map(|_| Method::Otp);
        app.chain(self.sms.iter().map(|_| Method::Sms)).collect()
    }

    /// The second-factor methods a challenge offers, as the `mfa_required` answer names them.
    pub fn offered(&self) -> Vec<&'static str> {
        let mut offered = Vec::new();
        // An authenticator past the ceiling is not offered: only a recovery code opens it.
        if self.totp.as_ref().is_some_and(|totp| !totp.blocked()) {
            offered.push("otp");
        }
        // A code is sent only when asked for (`POST /v2/mobile/sign-in/code`): the answer offers it.
        if self.sms.is_some() {
            offered.push("sms");
        }
        if self.recovery.as_ref().is_some_and(|set| !set.remaining.is_empty()) {
            offered.push("recovery_code");
        }
        offered
    }
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// SHA-256 of the `mfa_token`, in hex: the token itself is never stored.
    pub digest: String,
    pub user_id: String,
    pub merchant_id: String,
    /// The device fingerprint the sign-in sent, if any: the session it completes keeps it.
    pub fingerprint: Option<String>,
    /// The account's credential version when the password was checked.
    pub credential_version: u64,
    pub expires_at: i64,
    pub attempts_left: u32,
}

/// The second element that completes a challenge, and what using it spends.
#[derive(Debug, Clone, Copy)]
pub enum MfaProof<'a> {
    /// A TOTP code of `step`, for the factor `factor_id`: the step is recorded as used.
    Totp { factor_id: &'a str, step: i64 },
    /// A recovery code of the set `set_id`, whose MAC `mac` leaves the set.
    Recovery { set_id: &'a str, mac: &'a str },
    /// A code sent by SMS to the account's confirmed phone `phone` (`CodePurpose::StepUp`), which is
    /// deleted. With `sms_factor`, it is that SMS factor's code, and holds while the factor is
    /// still there; without, it is the step-up of an account with no factor (for its first
    /// enrolment), and holds only while the account has none (an authenticator's element it would
    /// otherwise stand in for: a SIM swap and the password would be enough).
    PhoneCode { phone: &'a PhoneKey, code_id: &'a str, sms_factor: Option<&'a str> },
}

/// Everything a completed challenge writes at once: the challenge gone, the proof spent, the
/// session started (and counted), if the account still has the password the sign-in checked.
pub struct MfaCompletion<'a> {
    pub challenge: &'a MfaChallenge,
    pub checked_hash: &'a str,
    pub proof: MfaProof<'a>,
    pub session: NewSession,
    pub now: i64,
}

/// A step-up inside a live session, all or nothing: the proof spent on the account (if it is still
/// active with the password checked), and the presented refresh token rotated into a successor
/// that carries what this ceremony proved (`rotation.assurance`; the session stays the same
/// session, and other chains of it keep what they had).
pub struct StepUp<'a> {
    pub rotation: Rotation<'a>,
    pub checked_hash: &'a str,
    pub proof: MfaProof<'a>,
}

/// The account's second factors, and sign-in challenges.
#[async_trait]
pub trait Factors: Send + Sync {
    /// Stores `challenge`, if the account is active with the password `checked_hash`.
    async fn start_mfa_challenge(&self, challenge: &MfaChallenge, checked_hash: &str) -> Result<(), StoreError>;

    async fn mfa_challenge(&self, digest: &str) -> Result<Option<MfaChallenge>, StoreError>;

    /// Takes one attempt from a live challenge before its proof is checked; the attempts left
    /// after it, or `None` if it is gone, spent or expired.
    async fn spend_mfa_attempt(&self, digest: &str, now: i64) -> Result<Option<u32>, StoreError>;

    /// The completion, all or nothing (`Conflict` if the challenge, the proof or the password is
    /// no longer as checked: of parallel completions, one wins).
    async fn complete_mfa_sign_in(&self, completion: MfaCompletion<'_>) -> Result<(), StoreError>;

    /// The step-up (`Conflict` if the proof, the password, the session or the presented refresh
    /// token is no longer as checked: of parallel step-ups with one code, one wins).
    async fn step_up_session(&self, step_up: StepUp<'_>) -> Result<(), StoreError>;

    /// Counts one wrong code of the authenticator `factor_id` of an active account; the count
    /// after it, or `None` if the account or that factor is gone. A success (the completion or
    /// step-up transaction) sets it back to nothing.
    async fn count_wrong_code(&self, user_id: &str, factor_id: &str) -> Result<Option<u64>, StoreError>;

    /// Keeps `pending` as the account's enrolment waiting for its first code, replacing any
    /// earlier one, if the account is active and has no authenticator yet (`Conflict` otherwise).
    async fn start_totp_enrolment(&self, user_id: &str, pending: &PendingTotp) -> Result<(), StoreError>;

    /// Takes one attempt from the pending enrolment `factor_id` before its code is compared; the
    /// attempts left after it, or `None` if it is gone, replaced, expired or out of attempts.
    async fn spend_enrolment_attempt(
        &self,
        user_id: &str,
        factor_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError>;

    /// Makes the pending enrolment `factor_id` the account's authenticator (with its recovery set),
    /// if it is still the pending one, unexpired, and the account still has none: of parallel
    /// verifications of one enrolment, one succeeds.
    async fn confirm_totp(&self, confirmation: TotpConfirmation<'_>) -> Result<(), StoreError>;

    /// Removes the factor and the recovery codes, if the account is active and its factor of that
    /// kind is still `factor_id` (`Conflict` otherwise), with the deletion page's code.
    async fn remove_factor(&self, removal: FactorRemoval<'_>) -> Result<(), StoreError>;

    /// Makes codes by SMS the account's second factor, with its first recovery codes (`Conflict`
    /// unless the account is active, has no factor, and still has the phone and address read).
    async fn enrol_sms_factor(&self, enrolment: SmsEnrolment<'_>) -> Result<(), StoreError>;

    /// The partner's support removals, oldest first.
    async fn factor_removal_records(&self, merchant_id: &str) -> Result<Vec<FactorRemovalRecord>, StoreError>;

    /// Replaces the account's recovery codes with `set`, if the account is active, still has a
    /// factor and the set it replaces is still `replaced` (`Conflict` otherwise).
    async fn replace_recovery_set(
        &self,
        user_id: &str,
        replaced: Option<&str>,
        set: &RecoverySet,
        events: &[EventRecord],
    ) -> Result<(), StoreError>;
}
