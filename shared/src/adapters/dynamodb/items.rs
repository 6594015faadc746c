//! Keys, attribute values, and the conversions between items and the records the ports speak in.
//! A leaf beside `table`: pure functions of items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub use super::table::Item;
use crate::domain::identity_review::{IdentityReview, ReviewStatus};
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::send_limits::SendLog;
use crate::domain::signin_backoff::SigninBackoff;
use crate::factors::assurance::{Assurance, Method};
use crate::ports::{
    AccountFactors, AccountRecord, AccountStatus, EmailTokenRecord, Identifier, PendingTotp, PhoneClaim, PhoneKey,
    RecoverySet, RefreshRecord, SessionRecord, SmsFactor, StoreError, StoredCode, Streak, TotpFactor,
};
use crate::security::code::CodePurpose;

pub const PK: &str = "pk";
pub const SK: &str = "sk";

pub fn phone_pk(key: &PhoneKey) -> String {
    format!("PHONE#{}#{}", key.merchant_id, key.phone.e164())
}

/// The partition of an identifier: its claim, its codes and its sign-in back-off live there.
pub fn identifier_pk(who: Identifier<'_>) -> String {
    match who {
        Identifier::Phone(key) => phone_pk(key),
        Identifier::Email(key) => email_claim_pk(&key.merchant_id, key.email.as_str()),
    }
}

/// The item of a sign-in streak: beside its identifier's claim, or on the account.
pub fn streak_key(streak: Streak<'_>) -> Item {
    match streak {
        Streak::Identifier(who) => item_key(identifier_pk(who), SIGNIN_SK),
        Streak::Account(user_id) => item_key(user_pk(user_id), SIGNIN_SK),
    }
}

pub const CLAIM_SK: &str = "CLAIM";
pub const SIGNIN_SK: &str = "SIGNIN";

pub fn code_sk(purpose: CodePurpose) -> String {
    format!("CODE#{}", purpose.as_str())
}

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const ACCOUNT_SK: &str = "ACCOUNT";

pub fn session_sk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

pub fn email_claim_pk(merchant_id: &str, email: &str) -> String {
    format!("EMAIL#{merchant_id}#{email}")
}

pub fn email_token_pk(token_hash: &str) -> String {
    format!("EMAILTOKEN#{token_hash}")
}

pub const TOKEN_SK: &str = "TOKEN";

pub fn refresh_pk(token_hash: &str) -> String {
    format!("REFRESH#{token_hash}")
}

pub const REFRESH_SK: &str = "REFRESH";

pub fn send_log_pk(log_key: &str) -> String {
    format!("SENDLOG#{log_key}")
}

pub const SEND_LOG_SK: &str = "LOG";

/// An entry of the account's index: an item filed under the account that is found by another key
/// (a refresh token, a link token), so deleting the account finds it. Its sort key names the
/// item's partition; `targetSk` holds the item's sort key.
pub fn index_sk(target_pk: &str) -> String {
    format!("{INDEX_PREFIX}{target_pk}")
}

pub const INDEX_PREFIX: &str = "INDEX#";

/// A sign-in challenge waiting for its second factor, by the SHA-256 of its token.
pub fn mfa_pk(digest: &str) -> String {
    format!("MFA#{digest}")
}
pub const CHALLENGE_SK: &str = "CHALLENGE";

/// An entry of the account's index for a code it was sent (or a decoy stored for it) under a number
/// that is not its own (phone add and change): the code's partition is another identifier's, so
/// deleting the account finds it here. `targetPk` and `targetSk` hold the code's key.
pub fn code_ref_sk(target_pk: &str, target_sk: &str) -> String {
    format!("{CODE_REF_PREFIX}{target_pk}|{target_sk}")
}

pub const CODE_REF_PREFIX: &str = "CODEREF#";

/// The mark that the owner is being told of sign-ins from one device (`X-Fingerprint`, by digest),
/// so parallel sign-ins from it tell once.
pub fn device_sk(device: &str) -> String {
    format!("{DEVICE_PREFIX}{device}")
}

pub const DEVICE_PREFIX: &str = "DEVICE#";

/// A partner's deletion records: one partition per partner, sorted by time.
pub fn deletions_pk(merchant_id: &str) -> String {
    format!("DELETIONS#{merchant_id}")
}

pub fn deletion_sk(deleted_at: i64, user_id: &str) -> String {
    format!("AT#{deleted_at:012}#{user_id}")
}

/// A partner's records of second factors its support removed: one partition per partner, by time.
pub fn factor_removals_pk(merchant_id: &str) -> String {
    format!("FACTORREMOVALS#{merchant_id}")
}

pub const PARTNERS_PK: &str = "PARTNERS";
pub const COUNTER_SK: &str = "COUNT";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn item_key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub fn status_value(status: AccountStatus) -> AttributeValue {
    s(match status {
        AccountStatus::Pending => "PENDING",
        AccountStatus::Active => "ACTIVE",
    })
}

fn malformed(attr: &str) -> StoreError {
    StoreError::Backend(format!("item attribute {attr} is missing or malformed"))
}

pub fn get_s(item: &Item, attr: &str) -> Result<String, StoreError> {
    item.get(attr).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| malformed(attr))
}

pub fn get_n<T: std::str::FromStr>(item: &Item, attr: &str) -> Result<T, StoreError> {
    item.get(attr).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| malformed(attr))
}

pub fn get_opt_n<T: std::str::FromStr>(item: &Item, attr: &str) -> Result<Option<T>, StoreError> {
    match item.get(attr) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => get_n(item, attr).map(Some),
    }
}

pub fn get_status(item: &Item) -> Result<AccountStatus, StoreError> {
    match get_s(item, "status")?.as_str() {
        "PENDING" => Ok(AccountStatus::Pending),
        "ACTIVE" => Ok(AccountStatus::Active),
        _ => Err(malformed("status")),
    }
}

pub fn get_opt_s(item: &Item, attr: &str) -> Option<String> {
    item.get(attr).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_n_list(item: &Item, attr: &str) -> Result<Vec<i64>, StoreError> {
    match item.get(attr) {
        None => Ok(Vec::new()),
        Some(value) => value
            .as_l()
            .map_err(|_| malformed(attr))?
            .iter()
            .map(|v| v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| malformed(attr)))
            .collect(),
    }
}

/// A list of strings, `None` if the attribute is absent; entries that are not strings are skipped.
pub fn get_opt_s_list(item: &Item, attr: &str) -> Result<Option<Vec<String>>, StoreError> {
    match item.get(attr) {
        None => Ok(None),
        Some(value) => {
            Ok(Some(value.as_l().map_err(|_| malformed(attr))?.iter().filter_map(|v| v.as_s().ok().cloned()).collect()))
        }
    }
}

/// A string set's members, none if the attribute is absent (DynamoDB keeps no empty set).
pub fn get_opt_ss(item: &Item, attr: &str) -> Vec<String> {
    item.get(attr).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default()
}

pub fn n_list(values: &[i64]) -> AttributeValue {
    AttributeValue::L(values.iter().map(n).collect())
}

pub fn key_for_account(user_id: &str) -> Item {
    item_key(user_pk(user_id), ACCOUNT_SK)
}

pub fn phone_key(key: &PhoneKey, sk: impl Into<String>) -> Item {
    item_key(phone_pk(key), sk)
}

/// Sumsub's verdict, kept beside the account's own attributes (`kycReview*`).
fn identity_review(item: &Item) -> Result<Option<IdentityReview>, StoreError> {
    let Some(status) = get_opt_s(item, "kycReviewStatus") else { return Ok(None) };
    Ok(Some(IdentityReview {
        status: ReviewStatus::parse(&status).ok_or_else(|| malformed("kycReviewStatus"))?,
        reject_labels: get_opt_s_list(item, "kycRejectLabels")?.unwrap_or_default(),
        applicant_id: get_s(item, "kycApplicantId")?,
        event_at_ms: get_n(item, "kycReviewAt")?,
    }))
}

/// The second factors, kept beside the account's own attributes (`totp*`, `smsFactor*`, `recovery*`).
fn account_factors(item: &Item) -> Result<AccountFactors, StoreError> {
    let totp = match get_opt_s(item, "totpId") {
        Some(factor_id) => Some(TotpFactor {
            factor_id,
            sealed_secret: get_s(item, "totpSecret")?,
            created_at: get_n(item, "totpCreatedAt")?,
            last_used_step: get_opt_n(item, "totpLastStep")?,
            wrong_codes: get_opt_n(item, "totpWrongCodes")?.unwrap_or(0),
        }),
        None => None,
    };
    let sms = match get_opt_s(item, "smsFactorId") {
        Some(factor_id) => Some(SmsFactor {
            factor_id,
            created_at: get_n(item, "smsFactorCreatedAt")?,
            last_used_at: get_opt_n(item, "smsFactorUsedAt")?,
        }),
        None => None,
    };
    let recovery = match get_opt_s(item, "recoverySetId") {
        Some(set_id) => Some(RecoverySet {
            set_id,
            sealed_key: get_s(item, "recoveryKey")?,
            // A string set that lost its last member is no attribute at all.
            remaining: get_opt_ss(item, "recoveryCodes"),
            created_at: get_n(item, "recoveryCreatedAt")?,
        }),
        None => None,
    };
    let pending_totp = match get_opt_s(item, "totpPendingId") {
        Some(factor_id) => Some(PendingTotp {
            factor_id,
            sealed_secret: get_s(item, "totpPendingSecret")?,
            expires_at: get_n(item, "totpPendingExpiresAt")?,
            attempts_left: get_opt_n(item, "totpPendingAttempts")?.unwrap_or(0),
        }),
        None => None,
    };
    Ok(AccountFactors {
        totp,
        sms,
        pending_totp,
        recovery,
        mfa_challenges: get_opt_n(item, "mfaChallenges")?.unwrap_or(0),
    })
}

impl TryFrom<&Item> for AccountRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let detail = |name: &str| get_opt_s(item, name);
        Ok(AccountRecord {
            user_id: get_s(item, "userId")?,
            merchant_id: get_s(item, "merchantId")?,
            phone: detail("phone"),
            status: get_status(item)?,
            password_hash: get_s(item, "passwordHash")?,
            valid_after: get_opt_n(item, "validAfter")?.unwrap_or(0),
            email: detail("email"),
            pending_email: detail("pendingEmail"),
            pending_email_token: detail("pendingEmailToken"),
            details: PersonalDetails {
                first_name: detail("firstName"),
                last_name: detail("lastName"),
                birth_date: detail("birthDate"),
                country: detail("country"),
                city: detail("city"),
                address: detail("address"),
                postal_code: detail("postalCode"),
            },
            password_history: match get_opt_s_list(item, "passwordHistory")? {
                Some(list) => list,
                None => vec![get_s(item, "passwordHash")?],
            },
            profile_version: get_opt_n(item, "profileVersion")?.unwrap_or(0),
            credential_version: get_opt_n(item, "credentialVersion")?.unwrap_or(0),
            kyc_level: match detail("kycLevel").as_deref() {
                Some("KYC_0") => KycLevel::Kyc0,
                _ => KycLevel::None,
            },
            identity_review: identity_review(item)?,
            created_at: get_opt_n(item, "createdAt")?.unwrap_or(0),
            updated_at: match get_opt_n(item, "updatedAt")? {
                Some(at) => at,
                None => get_opt_n(item, "createdAt")?.unwrap_or(0),
            },
            sessions_started: get_opt_n(item, "sessionsStarted")?.unwrap_or(0),
            phone_codes_issued: get_opt_n(item, "phoneCodesIssued")?.unwrap_or(0),
            phone_confirmed_at: get_opt_n(item, "phoneConfirmedAt")?,
            phone_confirmed_for: get_opt_s(item, "phoneConfirmedFor"),
            signup_phone: get_opt_s(item, "signupPhone"),
            factors: account_factors(item)?,
            event_sequence: get_opt_n(item, "eventSeq")?.unwrap_or(0),
        })
    }
}

impl TryFrom<&Item> for PhoneClaim {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(PhoneClaim {
            user_id: get_s(item, "userId")?,
            status: get_status(item)?,
            expires_at: get_opt_n(item, "expiresAt")?,
        })
    }
}

impl TryFrom<&Item> for StoredCode {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(StoredCode {
            code_id: get_s(item, "codeId")?,
            mac: get_s(item, "mac")?,
            user_id: get_s(item, "userId")?,
            expires_at: get_n(item, "expiresAt")?,
            attempts_left: get_n(item, "attemptsLeft")?,
        })
    }
}

impl TryFrom<&Item> for SessionRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(SessionRecord {
            session_id: get_s(item, "sessionId")?,
            merchant_id: get_s(item, "merchantId")?,
            created_at: get_n(item, "createdAt")?,
            expires_at: get_n(item, "expiresAt")?,
            revoked: get_opt_n::<i64>(item, "revokedAt")?.is_some(),
            credential_version: get_opt_n(item, "credentialVersion")?.unwrap_or(0),
            last_used_at: get_opt_n(item, "lastUsedAt")?.map_or_else(|| get_n(item, "createdAt"), Ok)?,
            fingerprint: get_opt_s(item, "fingerprint"),
            assurance: assurance(item)?,
        })
    }
}

/// A session's methods (`amr`, by RFC 8176 name) and `authTime`; a session written before they
/// were kept reads as a password sign-in at its start.
fn assurance(item: &Item) -> Result<Assurance, StoreError> {
    let names = get_opt_s_list(item, "amr")?.unwrap_or_default();
    let methods = names.iter().map(|name| Method::parse(name).ok_or_else(|| malformed("amr")));
    let methods = methods.collect::<Result<Vec<_>, _>>()?;
    let auth_time = get_opt_n(item, "authTime")?.map_or_else(|| get_n(item, "createdAt"), Ok)?;
    Ok(Assurance::stored(methods, auth_time))
}

/// How `amr` is stored: the methods' names (without `mfa`, which the level implies).
pub fn methods_value(assurance: &Assurance) -> AttributeValue {
    AttributeValue::L(assurance.methods().iter().map(|m| s(m.as_str())).collect())
}

impl TryFrom<&Item> for RefreshRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(RefreshRecord {
            user_id: get_s(item, "userId")?,
            merchant_id: get_s(item, "merchantId")?,
            session_id: get_s(item, "sessionId")?,
            expires_at: get_n(item, "expiresAt")?,
            rotated_at: get_opt_n(item, "rotatedAt")?,
            // Tokens written before they carried it have no `authTime`: the session's then.
            assurance: match get_opt_n::<i64>(item, "authTime")? {
                Some(_) => Some(assurance(item)?),
                None => None,
            },
        })
    }
}

impl TryFrom<&Item> for EmailTokenRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(EmailTokenRecord {
            user_id: get_s(item, "userId")?,
            merchant_id: get_s(item, "merchantId")?,
            email: get_s(item, "email")?,
            expires_at: get_n(item, "expiresAt")?,
            used_at: get_opt_n(item, "usedAt")?,
        })
    }
}

impl TryFrom<&Item> for SigninBackoff {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(SigninBackoff {
            failures: get_n(item, "failures")?,
            blocked_until: get_n(item, "blockedUntil")?,
            version: get_n(item, "version")?,
            forgotten_at: get_n(item, "ttl")?,
        })
    }
}

/// A send log item, named by its key.
pub fn send_log_from(key: String, item: &Item) -> Result<SendLog, StoreError> {
    Ok(SendLog { sent_at: get_n_list(item, "sentAt")?, version: get_n(item, "version")?, key })
}
