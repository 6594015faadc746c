//! The second element a client sends (an authenticator app's code or a recovery code), checked
//! against the account's factors: shared by the grant that completes a sign-in (`mfa`) and the one
//! that steps a session up (`step_up`). What it proves is spent by the caller's transaction, never
//! here, so a code checked twice in parallel is spent once.

use crate::App;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::factors::assurance::Method;
use crate::factors::recovery::{self, RecoveryCode, SetBinding, SetKey};
use crate::factors::totp::{Authenticator, TotpSecret};
use crate::handlers::codes::check_code;
use crate::handlers::notices::{SecurityEvent, confirmed_channels, notify};
use crate::handlers::race_backoff;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, Identifier, MfaProof, PhoneKey, StoredCode, WRONG_CODE_CEILING};
use crate::security::code::{CodePurpose, ConfirmationCode};

/// What the client sent as the second element.
pub(super) enum SecondElement {
    Otp(String),
    RecoveryCode(String),
    /// A code sent by SMS to the account's confirmed phone: the SMS factor's code (sent by
    /// `POST /v2/mobile/sign-in/code` for a sign-in, `POST /v2/customer/step-up/code` for a
    /// step-up), or the step-up code of an account with no factor yet, so it can enrol its first.
    PhoneCode(String),
}

/// What the second element is checked with, opened from its sealed form.
pub(super) enum Opened {
    Authenticator(Authenticator),
    SetKey(SetKey),
    /// The account has no factor of the element's kind: every code is wrong.
    Nothing,
}

/// Opens (KMS) the secret `element` is checked with. Done before a try is counted, so an outage of
/// KMS is never a wrong code.
pub(super) async fn open(app: &App, account: &AccountRecord, element: &SecondElement) -> Result<Opened, ApiError> {
    Ok(match (element, &account.factors.totp, &account.factors.recovery) {
        (SecondElement::Otp(_), Some(totp), _) if !totp.blocked() => {
            let secret = app.sealer.open(&account.user_id, &totp.sealed_secret).await?;
            Opened::Authenticator(
                Authenticator::new(&TotpSecret::from_bytes(&secret), "registration", "account")
                    .map_err(ApiError::Internal)?,
            )
        }
        (SecondElement::RecoveryCode(_), _, Some(set)) => {
            Opened::SetKey(SetKey::from_bytes(&app.sealer.open(&account.user_id, &set.sealed_key).await?))
        }
        _ => Opened::Nothing,
    })
}

/// What `element` proves on `account` at `now`, and the method it counts as; `None` for a wrong,
/// reused or malformed code. A code by SMS is checked against the store (`check_phone_code`).
pub(super) fn check<'a>(
    account: &'a AccountRecord,
    element: &SecondElement,
    opened: &Opened,
    now: i64,
) -> Option<(MfaProof<'a>, Method)> {
    match element {
        SecondElement::Otp(code) => {
            let (Some(totp), Opened::Authenticator(authenticator)) = (&account.factors.totp, opened) else {
                return None;
            };
            // As authenticator apps show it ("123 456"), or pasted with a line break.
            let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            let step = authenticator.accept(&code, now, totp.last_used_step)?;
            Some((MfaProof::Totp { factor_id: &totp.factor_id, step }, Method::Otp))
        }
        SecondElement::RecoveryCode(typed) => {
            let (Some(set), Opened::SetKey(key)) = (&account.factors.recovery, opened) else {
                return None;
            };
            let typed = RecoveryCode::parse(typed)?;
            let binding = SetBinding { merchant: &account.merchant_id, user_id: &account.user_id, set_id: &set.set_id };
            let mac = recovery::matching(key, binding, &typed, &set.remaining)?;
            Some((MfaProof::Recovery { set_id: &set.set_id, mac }, Method::Recovery))
        }
        SecondElement::PhoneCode(_) => None,
    }
}

/// A code by SMS for `phone`, checked as every code is (an attempt spent first, five in all): the
/// stored code it matched, `None` for a wrong, used, expired or malformed one.
pub(super) async fn check_phone_code(
    app: &App,
    account: &AccountRecord,
    phone: &PhoneKey,
    typed: &str,
    now: i64,
) -> Result<Option<StoredCode>, ApiError> {
    let Ok(code) = ConfirmationCode::parse(typed) else { return Ok(None) };
    let who = Identifier::Phone(phone);
    match check_code(&*app.store, &app.code_mac, who, CodePurpose::StepUp, &code, Some(&account.user_id), now).await {
        Ok(stored) => Ok(Some(stored)),
        Err(ApiError::CodeMismatch { .. } | ApiError::CodeNoLongerValid) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Whether `proof` and the password `checked` read are still as they were: a transaction that was
/// refused although they are met a transaction in flight, and may be tried again.
pub(super) async fn still_spendable(app: &App, checked: &AccountRecord, proof: MfaProof<'_>) -> Result<bool, ApiError> {
    let account = app.store.account(&checked.user_id).await?;
    let Some(account) = account.filter(|a| a.password_hash == checked.password_hash) else {
        return Ok(false);
    };
    Ok(match proof {
        MfaProof::Totp { factor_id, step } => account
            .factors
            .totp
            .is_some_and(|t| t.factor_id == factor_id && t.last_used_step.is_none_or(|last| last < step)),
        MfaProof::Recovery { set_id, mac } => {
            account.factors.recovery.is_some_and(|r| r.set_id == set_id && r.remaining.iter().any(|m| m == mac))
        }
        MfaProof::PhoneCode { phone, code_id, sms_factor } => {
            let factor_as_read = match sms_factor {
                Some(id) => account.factors.sms.as_ref().is_some_and(|sms| sms.factor_id == id),
                None => !account.factors.has_second_factor(),
            };
            factor_as_read
                && app
                    .store
                    .code(Identifier::Phone(phone), CodePurpose::StepUp)
                    .await?
                    .is_some_and(|code| code.code_id == code_id)
        }
    })
}

/// Counts that keep meeting transactions in flight on the account item before one is given up.
const COUNT_TRIES: u64 = 3;

/// After `element` was found wrong on `account`: a wrong code of its authenticator is counted
/// toward the ceiling, and the owner told when it is reached. Never fails: a count that could not
/// be written (three times: a transaction in flight on the account item, such as a challenge
/// opened in parallel, refuses it) is logged (the back-off's streaks counted the try already).
pub(super) async fn count_if_wrong_code(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    element: &SecondElement,
    now: i64,
) {
    let (SecondElement::Otp(_), Some(totp)) = (element, &account.factors.totp) else { return };
    for round in 0..COUNT_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        match app.store.count_wrong_code(&account.user_id, &totp.factor_id).await {
            Ok(Some(WRONG_CODE_CEILING)) => {
                tracing::warn!(user_id = %account.user_id, "authenticator codes blocked after too many wrong ones");
                let event = SecurityEvent::AuthenticatorBlocked { after: WRONG_CODE_CEILING };
                notify(app, mailer, partner, &confirmed_channels(account), &event, now).await;
                return;
            }
            Ok(_) => return,
            Err(err) => tracing::warn!(error = %err, round, "a wrong authenticator code not counted"),
        }
    }
}

/// After `method` was spent on `account` (as read before): a recovery code used is told to the
/// owner on every confirmed channel, with how many are left, so a stolen code does not go unseen.
pub(super) async fn tell_if_recovery(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    method: Method,
    now: i64,
) {
    if method != Method::Recovery {
        return;
    }
    let remaining = account.factors.recovery.as_ref().map_or(0, |set| set.remaining.len().saturating_sub(1));
    let event = SecurityEvent::RecoveryCodeUsed { remaining };
    notify(app, mailer, partner, &confirmed_channels(account), &event, now).await;
}
