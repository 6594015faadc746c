//! Sending a code by SMS without leaving anything half made: the send is reserved in the phone's send
//! log in the same transaction that stores the code, and released again if the SMS never left, so a
//! failed send does not hold the user back by a cooldown. A live partner's SMS is charged to its
//! daily budget first; a sandbox partner sends nothing at all and its codes are always `12345`.

use zeroize::Zeroizing;

use super::{Attempt, CODE_ATTEMPTS, EMAIL_CODE_TTL_SECS, NO_USER, SMS_CODE_TTL_SECS, raced_unless_gone};
use crate::App;
use crate::admission::sms_budget;
use crate::domain::partner::Partner;
use crate::domain::send_limits::SendReservation;
use crate::error::ApiError;
use crate::latency::LatencyEstimate;
use crate::ports::{AccountStatus, Identifier, IssuedCode, PhoneKey, Recipient, SendError, StoreError, StoredCode};
use crate::security::code::{CodeBinding, CodePurpose, ConfirmationCode};
use crate::security::random;

/// A fresh code for a phone and the form in which it is stored.
pub(super) fn new_code(
    app: &App,
    partner: &Partner,
    key: &PhoneKey,
    purpose: CodePurpose,
    user_id: &str,
    now: i64,
) -> (ConfirmationCode, StoredCode) {
    new_code_for(app, partner, Identifier::Phone(key), purpose, user_id, now + SMS_CODE_TTL_SECS)
}

/// A fresh code for a phone or an address, and the form in which it is stored.
pub(super) fn new_code_for(
    app: &App,
    partner: &Partner,
    who: Identifier<'_>,
    purpose: CodePurpose,
    user_id: &str,
    expires_at: i64,
) -> (ConfirmationCode, StoredCode) {
    let code = if partner.sandbox { ConfirmationCode::sandbox() } else { ConfirmationCode::generate() };
    let code_id = random::id();
    let binding = CodeBinding { purpose, merchant: who.merchant_id(), recipient: who.address(), code_id: &code_id };
    let mac = app.code_mac.seal(&binding, &code);
    let stored = StoredCode { code_id, mac, user_id: user_id.to_owned(), expires_at, attempts_left: CODE_ATTEMPTS };
    (code, stored)
}

/// A code that was never sent and that no code matches (its MAC is random bytes, not the MAC of
/// any code), stored where a real one would be: the next guesses get the answers a real code
/// gives, attempts included, so they tell nothing about the identifier.
pub(super) fn decoy_code(user_id: &str, expires_at: i64) -> StoredCode {
    StoredCode {
        code_id: random::id(),
        mac: random::hex(&random::bytes::<32>()),
        user_id: user_id.to_owned(),
        expires_at,
        attempts_left: CODE_ATTEMPTS,
    }
}

pub(super) fn code_text(code: &ConfirmationCode) -> Zeroizing<String> {
    // The code first, so phones can offer it for autofill.
    Zeroizing::new(format!(
        "{} is your verification code. It expires in 5 minutes. Never share it with anyone.",
        code.expose()
    ))
}

/// The code of a signup that was made again with another password: the account it confirms has no
/// password until the number's owner sets one, so nobody who never saw this SMS can know it.
pub(super) fn contested_code_text(code: &ConfirmationCode) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{} is your verification code. This number was signed up twice with different passwords: \
after confirming, choose your password with Forgot password.",
        code.expose()
    ))
}

pub(super) const PHONE_IN_USE_NOTICE: &str = "Someone tried to add this phone number to another account. \
It stays with your account and nothing was changed. If this was not you, you can ignore this message.";

pub(super) const EXISTING_ACCOUNT_NOTICE: &str = "Someone tried to sign up with this phone number, which already has an account. \
If it was you, sign in or reset your password. If not, you can ignore this message.";

/// How a delivery takes part in hiding which case a request was: paths that do the most work
/// `Set` the estimate of their kind; the lighter paths of the same endpoint, which must not be told
/// apart from them, `Imitate` it. Both then wait until the estimate's target (`LatencyEstimate::target`).
/// A path whose other case sends nothing at all (forgot-password, resend, the deletion page) `Hides`:
/// it sets the estimate like `Sets`, and a send that fails answers as the decoy would (the decoy
/// cannot fail), instead of a 503 that would say an account is there.
#[derive(Clone, Copy)]
pub(super) enum Timing<'a> {
    Untimed,
    Sets(&'a LatencyEstimate),
    Hides(&'a LatencyEstimate),
    Imitates(&'a LatencyEstimate),
}

/// Reserves a send to `to`, lets `write` store it (with whatever else belongs in the same
/// transaction), then runs `send`. `Raced` if the write lost to a parallel request; if the send
/// fails, the reservation is released so the cooldown does not hold back a retry.
pub(super) async fn deliver<W, WF, S, SF>(
    app: &App,
    partner: &Partner,
    to: Recipient<'_>,
    timing: Timing<'_>,
    write: W,
    send: S,
) -> Result<Attempt<()>, ApiError>
where
    W: FnOnce(SendReservation) -> WF,
    WF: Future<Output = Result<(), StoreError>>,
    S: FnOnce() -> SF,
    SF: Future<Output = Result<(), SendError>>,
{
    let now = app.clock.now();
    let log = app.store.send_log(&to.log_key(partner)).await?;
    let reservation =
        log.reserve(now, &app.send_limits).map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    // Charged before the write, so a spent budget leaves nothing behind; refunded if nothing is sent.
    let charge = match to {
        Recipient::Phone(_) | Recipient::AccountPhone(..) if !partner.sandbox => {
            Some(sms_budget::charge(app, partner).await?)
        }
        _ => None,
    };
    // tokio's clock (the same as the system's, but one a test can pause).
    let started = tokio::time::Instant::now();
    let written = match write(reservation.clone()).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(Ok(Attempt::Raced)),
        Err(other) => Err(Err(other.into())),
    };
    if let Err(outcome) = written {
        if let Some(charge) = &charge {
            sms_budget::refund(app, charge).await;
        }
        return outcome;
    }
    if partner.sandbox {
        return Ok(Attempt::Done(()));
    }
    let sent = send().await;
    if let (Err(err), Timing::Hides(estimate)) = (&sent, timing) {
        // The code stays stored and unused, the send and its charge stay counted as the decoy's
        // would, so the next request (a retry within the cooldown) answers as it would have.
        tracing::warn!(error = %err, "message not sent; answered as sent: this endpoint does not say whether it sends");
        tokio::time::sleep(estimate.target().saturating_sub(started.elapsed())).await;
        return Ok(Attempt::Done(()));
    }
    if let Err(err) = sent {
        tracing::warn!(error = %err, "message not sent; releasing the send");
        if let Some(charge) = &charge {
            sms_budget::refund(app, charge).await;
        }
        if let Err(release) = app.store.release_send(&reservation).await {
            tracing::warn!(error = %release, "could not release the send");
        }
        return Err(match to {
            Recipient::Phone(_) | Recipient::AccountPhone(..) => ApiError::SmsUnavailable,
            Recipient::Email(_) => ApiError::EmailUnavailable,
        });
    }
    // Both paths wait out the same target, taken before this send is folded in: a send that took
    // less than usual cannot be told from a decoy, from an environment's first request on.
    match timing {
        Timing::Untimed => {}
        Timing::Sets(estimate) | Timing::Hides(estimate) => {
            let target = estimate.target();
            let took = started.elapsed();
            estimate.record(took);
            tokio::time::sleep(target.saturating_sub(took)).await;
        }
        Timing::Imitates(estimate) => {
            tokio::time::sleep(estimate.target().saturating_sub(started.elapsed())).await;
        }
    }
    Ok(Attempt::Done(()))
}

/// For a phone or an address that must get nothing without anyone being able to tell: records a
/// send under the same limits, stores a decoy where the code would be (living `ttl` seconds, as the
/// real one would), and takes as long as the path it imitates.
pub(super) async fn send_nothing_alike(
    app: &App,
    partner: &Partner,
    who: Identifier<'_>,
    purpose: CodePurpose,
    imitates: &LatencyEstimate,
) -> Result<Attempt<()>, ApiError> {
    let (to, ttl) = match who {
        Identifier::Phone(key) => (Recipient::Phone(&key.phone), SMS_CODE_TTL_SECS),
        Identifier::Email(key) => (Recipient::Email(&key.email), EMAIL_CODE_TTL_SECS),
    };
    let decoy = decoy_code(NO_USER, app.clock.now() + ttl);
    deliver(
        app,
        partner,
        to,
        Timing::Imitates(imitates),
        |send| async move { app.store.issue_code(who, purpose, IssuedCode::Decoy(decoy), &send).await },
        || async { Ok(()) },
    )
    .await
}

/// `deliver` for an SMS to the key's phone.
pub(super) async fn send_with<W, Fut>(
    app: &App,
    partner: &Partner,
    key: &PhoneKey,
    text: &str,
    timing: Timing<'_>,
    write: W,
) -> Result<Attempt<()>, ApiError>
where
    W: FnOnce(SendReservation) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    deliver(app, partner, Recipient::Phone(&key.phone), timing, write, || app.sms.send(&key.phone, text)).await
}

/// A code of `purpose` by SMS to the account that holds the phone (forgot-password, the deletion
/// page), worded by `text`; a phone without an active account gets nothing, alike (`send_nothing_alike`).
pub(super) async fn code_to_account_phone(
    app: &App,
    partner: &Partner,
    key: &PhoneKey,
    purpose: CodePurpose,
    text: fn(&ConfirmationCode) -> Zeroizing<String>,
    estimate: &LatencyEstimate,
) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let claim = app.store.phone_claim(key).await?.filter(|c| c.is_live(now) && c.status == AccountStatus::Active);
    let Some(claim) = claim else {
        return send_nothing_alike(app, partner, Identifier::Phone(key), purpose, estimate).await;
    };
    let (code, stored) = new_code(app, partner, key, purpose, &claim.user_id, now);
    let text = &text(&code);
    send_with(app, partner, key, text, Timing::Hides(estimate), |send| async move {
        app.store.issue_code(Identifier::Phone(key), purpose, IssuedCode::Sent(stored), &send).await
    })
    .await
}

/// Whose send limits a code to the account's own phone counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnPhoneLog {
    /// The number's, like every code (the step-up of an account without a factor: its sends are
    /// no sign-in's, and an account deleted and made again must not get a fresh allowance).
    Number,
    /// The account's (`Recipient::AccountPhone`): the codes of an SMS factor, which strangers
    /// filling the number's log must not hold back.
    Account,
}

/// The confirmed phone `key` of the account `user_id`, and whose limits a code to it counts in.
#[derive(Clone, Copy)]
pub(super) struct OwnPhone<'a> {
    pub user_id: &'a str,
    pub key: &'a PhoneKey,
    pub log: OwnPhoneLog,
}

/// A code of `purpose` by SMS to the account's own confirmed phone, which only its owner can ask
/// for (a step-up, behind a session; a sign-in's second step, behind the password): nothing to
/// hide from its owner, so a send that fails answers 503, and the code is stored only while the
/// account still holds the phone (the store's guard for the purpose).
pub(super) async fn code_to_own_phone(
    app: &App,
    partner: &Partner,
    own: OwnPhone<'_>,
    purpose: CodePurpose,
    text: fn(&ConfirmationCode) -> Zeroizing<String>,
    estimate: &LatencyEstimate,
) -> Result<Attempt<()>, ApiError> {
    let OwnPhone { user_id, key, log } = own;
    let now = app.clock.now();
    let (code, stored) = new_code(app, partner, key, purpose, user_id, now);
    let text = &text(&code);
    let to = match log {
        OwnPhoneLog::Number => Recipient::Phone(&key.phone),
        OwnPhoneLog::Account => Recipient::AccountPhone(&key.phone, user_id),
    };
    let write = |send| async move {
        app.store.issue_code(Identifier::Phone(key), purpose, IssuedCode::Sent(stored), &send).await
    };
    let attempt = deliver(app, partner, to, Timing::Sets(estimate), write, || app.sms.send(&key.phone, text)).await?;
    match attempt {
        Attempt::Done(()) => Ok(Attempt::Done(())),
        Attempt::Raced => raced_unless_gone(app, user_id).await,
    }
}

/// A code of `purpose` by SMS to a phone a signed-in account is taking (phone add, phone change).
/// A number another account holds gets the same answer in the same time: its owner a notice, and a
/// decoy in the code's place, so the caller's next guesses answer as for a free number. A write
/// that lost a race is worth trying again (`retry_races`), unless the account was deleted
/// meanwhile: a 401.
pub(super) async fn code_to_new_phone(
    app: &App,
    partner: &Partner,
    user_id: &str,
    key: &PhoneKey,
    purpose: CodePurpose,
    estimate: &LatencyEstimate,
) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let claim = app.store.phone_claim(key).await?.filter(|claim| claim.is_live(now));
    let attempt = if claim.is_some_and(|claim| claim.status == AccountStatus::Active) {
        let decoy = decoy_code(user_id, now + SMS_CODE_TTL_SECS);
        send_with(app, partner, key, PHONE_IN_USE_NOTICE, Timing::Imitates(estimate), |sms| async move {
            app.store.issue_code(Identifier::Phone(key), purpose, IssuedCode::Decoy(decoy), &sms).await
        })
        .await?
    } else {
        let (code, stored) = new_code(app, partner, key, purpose, user_id, now);
        send_with(app, partner, key, &code_text(&code), Timing::Sets(estimate), |sms| async move {
            app.store.issue_code(Identifier::Phone(key), purpose, IssuedCode::Sent(stored), &sms).await
        })
        .await?
    };
    match attempt {
        Attempt::Done(()) => Ok(Attempt::Done(())),
        Attempt::Raced => raced_unless_gone(app, user_id).await,
    }
}
