//! Sending a confirmation link (add and resend) or, for an address another account owns, a notice
//! to its owner instead, under the same per-address limits as SMS codes. Either way the address
//! becomes the caller's pending one, so the profile and the next resend tell nothing either.

use super::delivery::{Timing, deliver};
use super::{Attempt, raced_unless_gone, retry_races};
use crate::App;
use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, Recipient};
use crate::security::tokens::EmailLinkToken;

/// Email links live 24 hours (docs/targets.md).
pub const EMAIL_LINK_TTL_SECS: i64 = 24 * 3600;

/// Records `email` as the account's pending address with a new link token, and mails the link (a
/// sandbox partner's is only recorded, and returned so its answer can show it). When another
/// account owns the address, its owner gets a notice instead and the token is never sent: the
/// caller sees the same pending address, the same answer and the same limits as for a free one.
pub(super) async fn send_link(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    email: &EmailAddress,
) -> Result<Option<String>, ApiError> {
    retry_races(|| async {
        let now = app.clock.now();
        let owner = app.store.email_owner(&account.merchant_id, email).await?;
        let owned_elsewhere = owner.is_some_and(|owner| owner != account.user_id);
        let token = EmailLinkToken::generate();
        let hash = token.digest();
        let message = if owned_elsewhere {
            mailer.already_in_use(partner, email)?
        } else {
            mailer.confirmation(partner, email, token.expose())?
        };
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
            Attempt::Done(()) => {
                Attempt::Done((!owned_elsewhere).then(|| mailer.confirmation_link(partner, token.expose())))
            }
            Attempt::Raced => raced_unless_gone(app, &account.user_id).await?,
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
