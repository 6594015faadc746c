//! The path for a user who lost both the authenticator app and the recovery codes (docs/factors.md,
//! "Lost both device and recovery codes"): the partner, having identified the user its own way,
//! asks its operator to remove the factors (`partners factors-remove`). Not a self-service flow on
//! purpose: a "lost everything" button is the password-reset bypass the anchors' trackers describe.
//!
//! What it leaves is a trace: the factors and the recovery codes removed together with a record
//! the partner can list (user id, time, its own reference; no personal data), in one transaction
//! conditional on the factor as read; every session of the account ended (whoever held one may be
//! whoever made support believe them); and the owner told on every confirmed contact, so a removal
//! someone talked support into does not go unseen.

use super::super::notices::{SecurityEvent, confirmed_channels, notify_reporting};
use crate::App;
use crate::domain::partner::Partner;
use crate::mail::Mailer;
use crate::ports::{AccountStatus, FactorRemoval, FactorRemovalRecord, StoreError};
use crate::webhooks::event::{AccountEvent, EventRecord, RemovedBy};

/// Longest partner reference kept (a ticket id, not a story: it is shown back to the partner, and
/// kept 3 years, so it must not hold personal data: no names, numbers or addresses).
pub const MAX_REFERENCE_LEN: usize = 64;

/// Why a removal did not happen, in words an operator can act on.
#[derive(Debug)]
pub enum SupportRemovalError {
    /// No active account of this partner with that id.
    NoSuchAccount,
    /// The account has no second factor to remove.
    NoFactor,
    /// The reference is empty, too long, or holds characters other than letters, digits and `-_.:#/`.
    BadReference,
    /// The account changed meanwhile (its factor removed, a sign-in completed): every session it
    /// had is ended already; run it again, which ends the new ones and removes the factor.
    Changed,
    Store(StoreError),
}

impl From<StoreError> for SupportRemovalError {
    fn from(err: StoreError) -> Self {
        SupportRemovalError::Store(err)
    }
}

/// What a removal did: its record, and what became of each notice to the owner (masked recipient
/// and outcome), for the operator to see (a notice that did not go is a removal nobody was told of).
#[derive(Debug)]
pub struct SupportRemoval {
    pub record: FactorRemovalRecord,
    pub notices: Vec<String>,
}

/// Removes the second factors of `user_id` (of `partner`) at its support's request `reference`.
pub async fn remove_lost_factors(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    user_id: &str,
    reference: &str,
) -> Result<SupportRemoval, SupportRemovalError> {
    let reference = reference.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:#/".contains(c);
    if reference.is_empty() || reference.len() > MAX_REFERENCE_LEN || !reference.chars().all(allowed) {
        return Err(SupportRemovalError::BadReference);
    }
    let account = app
        .store
        .account(user_id)
        .await?
        .filter(|a| a.merchant_id == partner.id && a.status == AccountStatus::Active)
        .ok_or(SupportRemovalError::NoSuchAccount)?;
    let (kind, factor_id) = account.factors.enrolled().ok_or(SupportRemovalError::NoFactor)?;
    let now = app.clock.now();
    let record = FactorRemovalRecord {
        merchant_id: partner.id.clone(),
        user_id: account.user_id.clone(),
        removed_at: now,
        reference: reference.to_owned(),
    };
    // Every session first, live or not (a revocation is idempotent): a run that stops part way has
    // signed the account out, which harms nobody (its owner lost the factor anyway). Then the
    // factors go, with the record, under the factor and the count of sessions started as read
    // before the sessions were listed: a sign-in completed since then fails the removal
    // (`Changed`), and a run again ends its session too.
    for session in app.store.sessions(&account.user_id).await? {
        app.store.revoke_session(&account.user_id, &session.session_id, now).await?;
    }
    let phone = account.confirmed_phone_key();
    let removal = FactorRemoval {
        user_id: &account.user_id,
        kind,
        factor_id,
        phone: phone.as_ref(),
        record: Some((&record, account.sessions_started)),
        events: EventRecord::after(
            &account,
            [AccountEvent::FactorRemoved { factor: kind, by: RemovedBy::Support }],
            now,
        ),
    };
    match app.store.remove_factor(removal).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(SupportRemovalError::Changed),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = %account.user_id, "second factors removed by the partner's support");
    let event = SecurityEvent::FactorsRemovedBySupport;
    let notices = notify_reporting(app, mailer, partner, &confirmed_channels(&account), &event, now).await;
    Ok(SupportRemoval { record, notices })
}
