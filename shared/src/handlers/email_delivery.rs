//! Sending a confirmation link (add and resend) or, for an address another account owns, a notice
//! to its owner instead, under the same per-address limits as SMS codes.

use super::delivery::{Timing, deliver};
use super::{Attempt, retry_races};
use crate::App;
use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, Recipient};
use crate::security::tokens::EmailLinkToken;

/// Email links live 24 hours (targets.md).
pub const EMAIL_LINK_TTL_SECS: i64 = 24 * 3600;

/// Sends (or, for a sandbox partner, only records) a new link; the link, which only a sandbox
/// partner's answer may show.
pub(super) async fn send_link(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    email: &EmailAddress,
) -> Result<String, ApiError> {
    retry_races(|| async {
        let now = app.clock.now();
        let token = EmailLinkToken::generate();
        let hash = token.digest();
        let message = mailer.confirmation(partner, email, token.expose())?;
        let sent = deliver(
            app,
            partner,
            Recipient::Email(email),
            Timing::Untimed,
            |send| async move {
                app.store
                    .start_email_confirmation(
                        &account.user_id,
                        &account.merchant_id,
                        email,
                        &hash,
                        now + EMAIL_LINK_TTL_SECS,
                        &send,
                    )
                    .await
            },
            || mailer.sender.send(email, &message),
        )
        .await?;
        Ok(match sent {
            Attempt::Done(()) => Attempt::Done(mailer.confirmation_link(partner, token.expose())),
            Attempt::Raced => Attempt::Raced,
        })
    })
    .await
}

/// `{"result":"ok"}`; for a sandbox partner, which is sent no email, with the link it would have got.
pub(super) fn link_answer(partner: &Partner, link: Option<String>) -> serde_json::Value {
    match link {
        Some(link) if partner.sandbox => serde_json::json!({ "result": "ok", "sandbox": { "confirmationLink": link } }),
        _ => serde_json::json!({ "result": "ok" }),
    }
}

pub(super) async fn send_in_use_notice(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    let message = mailer.already_in_use(partner, email)?;
    retry_races(|| async {
        deliver(
            app,
            partner,
            Recipient::Email(email),
            Timing::Untimed,
            |send| async move { app.store.record_send(&send).await },
            || mailer.sender.send(email, &message),
        )
        .await
    })
    .await
}
