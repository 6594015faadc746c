//! Sending a confirmation link (add and resend) or, for an address another account owns, a notice
//! to its owner instead, under the same per-address limits as SMS codes.

use super::delivery::deliver;
use super::retry_races;
use crate::App;
use crate::domain::email::EmailAddress;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, Recipient};
use crate::security::tokens::EmailLinkToken;

/// Email links live 24 hours (targets.md).
pub const EMAIL_LINK_TTL_SECS: i64 = 24 * 3600;

pub(super) async fn send_link(
    app: &App,
    mailer: &Mailer,
    account: &AccountRecord,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    retry_races(|| async {
        let now = app.clock.now();
        let token = EmailLinkToken::generate();
        let hash = token.digest();
        let message = mailer.confirmation(email, token.expose())?;
        deliver(
            app,
            Recipient::Email(email),
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
            |_| mailer.sender.send(email, &message),
        )
        .await
    })
    .await
}

pub(super) async fn send_in_use_notice(app: &App, mailer: &Mailer, email: &EmailAddress) -> Result<(), ApiError> {
    let message = mailer.already_in_use(email)?;
    retry_races(|| async {
        deliver(
            app,
            Recipient::Email(email),
            |send| async move { app.store.record_send(Recipient::Email(email), &send).await },
            |_| mailer.sender.send(email, &message),
        )
        .await
    })
    .await
}
