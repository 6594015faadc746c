//! Security notices: after a change to how an account signs in (password, phone, email) or a
//! sign-in from a new device, its owner is told on the phone and mailbox the account has confirmed,
//! so a takeover does not go unnoticed (OWASP ASVS 2.5.5 / 6.3.7). A notice carries no code, link or
//! secret. Notices are capped per recipient per day in a counter of their own, so the 60 s cooldown
//! of codes never holds them up and they never use up a recipient's code sends; and a notice that
//! cannot go (cap reached, SMS budget spent, the provider down) is logged, never an error: the
//! change that caused it has happened and its caller gets its answer.

use crate::App;
use crate::admission::{recipients, sms_budget};
use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::domain::phone::PhoneNumber;
use crate::domain::send_limits::DAY;
use crate::domain::utc_time::UtcTime;
use crate::mail::{Mailer, NoticeText};
use crate::ports::{AccountRecord, CounterKey, Recipient};

/// At most this many notices to one phone or mailbox in a UTC day, across partners.
pub const NOTICES_PER_RECIPIENT_PER_DAY: u64 = 10;

const NOT_YOU: &str = "If this was not you, reset your password now with Forgot password in the app, \
and tell the app's support.";
const TAKEN_OVER: &str =
    "If this was not you, contact the app's support at once: someone else may have taken over your account.";

/// What happened to the account.
pub(super) enum SecurityEvent {
    PasswordChanged,
    PasswordReset,
    /// To the old number; carries the new one, masked.
    PhoneChanged {
        new_phone: String,
    },
    /// To the old address; carries the new one, masked.
    EmailChanged {
        new_email: String,
    },
    /// A sign-in from a device (`X-Fingerprint`) the account had not used before.
    NewDeviceSignIn,
    /// The account is gone: nothing to undo, nothing to follow.
    AccountDeleted,
    /// A recovery code stood in for the second factor (a sign-in or a step-up); `remaining` are left.
    RecoveryCodeUsed {
        remaining: usize,
    },
    /// The authenticator's codes are refused after `after` wrong ones, until a recovery code.
    AuthenticatorBlocked {
        after: u64,
    },
    /// A phone was added to an account that had none (an email-first one); carries it, masked.
    PhoneAdded {
        new_phone: String,
    },
    /// An authenticator app became the account's second factor (and recovery codes were made).
    AuthenticatorAdded,
    /// The authenticator app and the recovery codes were removed: the password alone signs in.
    AuthenticatorRemoved,
    /// Codes by SMS to the confirmed phone became the account's second factor (and recovery codes
    /// were made): its password is reset by email only from now on.
    SmsFactorAdded,
    /// The SMS factor and the recovery codes were removed: the password alone signs in.
    SmsFactorRemoved,
    /// A new set of recovery codes replaced the old one, which no longer works.
    RecoveryCodesReplaced,
    /// The partner's support removed the app and the codes (the user said they lost both), and
    /// ended every session.
    FactorsRemovedBySupport,
}

impl SecurityEvent {
    fn kind(&self) -> &'static str {
        match self {
            SecurityEvent::PasswordChanged => "password_changed",
            SecurityEvent::PasswordReset => "password_reset",
            SecurityEvent::PhoneChanged { .. } => "phone_changed",
            SecurityEvent::EmailChanged { .. } => "email_changed",
            SecurityEvent::NewDeviceSignIn => "new_device_sign_in",
            SecurityEvent::AccountDeleted => "account_deleted",
            SecurityEvent::RecoveryCodeUsed { .. } => "recovery_code_used",
            SecurityEvent::AuthenticatorBlocked { .. } => "authenticator_blocked",
            SecurityEvent::PhoneAdded { .. } => "phone_added",
            SecurityEvent::AuthenticatorAdded => "authenticator_added",
            SecurityEvent::AuthenticatorRemoved => "authenticator_removed",
            SecurityEvent::SmsFactorAdded => "sms_factor_added",
            SecurityEvent::SmsFactorRemoved => "sms_factor_removed",
            SecurityEvent::RecoveryCodesReplaced => "recovery_codes_replaced",
            SecurityEvent::FactorsRemovedBySupport => "factors_removed_by_support",
        }
    }

    fn subject(&self) -> &'static str {
        match self {
            SecurityEvent::PasswordChanged => "Your password was changed",
            SecurityEvent::PasswordReset => "Your password was reset",
            SecurityEvent::PhoneChanged { .. } => "Your phone number was changed",
            SecurityEvent::EmailChanged { .. } => "Your email address was changed",
            SecurityEvent::NewDeviceSignIn => "New sign-in to your account",
            SecurityEvent::AccountDeleted => "Your account was deleted",
            SecurityEvent::RecoveryCodeUsed { .. } => "A recovery code of your account was used",
            SecurityEvent::AuthenticatorBlocked { .. } => "Codes from your authenticator app are blocked",
            SecurityEvent::PhoneAdded { .. } => "A phone number was added to your account",
            SecurityEvent::AuthenticatorAdded => "An authenticator app was added to your account",
            SecurityEvent::AuthenticatorRemoved => "The authenticator app was removed from your account",
            SecurityEvent::SmsFactorAdded => "Codes by SMS now protect your account",
            SecurityEvent::SmsFactorRemoved => "Codes by SMS no longer protect your account",
            SecurityEvent::RecoveryCodesReplaced => "Your recovery codes were replaced",
            SecurityEvent::FactorsRemovedBySupport => "Support removed your account's second factor",
        }
    }

    fn what(&self) -> String {
        match self {
            SecurityEvent::PasswordChanged => "The password of your account was changed.".to_owned(),
            SecurityEvent::PasswordReset => {
                "The password of your account was reset, and every device signed in to it was signed out.".to_owned()
            }
            SecurityEvent::PhoneChanged { new_phone } => {
                format!("Your account moved to the phone number {new_phone}; this number no longer signs in to it.")
            }
            SecurityEvent::EmailChanged { new_email } => {
                format!("Your account's email address is now {new_email}; this address no longer signs in to it.")
            }
            SecurityEvent::NewDeviceSignIn => {
                "Your account was signed in to on a device it had not used before.".to_owned()
            }
            SecurityEvent::AccountDeleted => {
                "Your account and what was kept about it were deleted, as asked. This cannot be undone.".to_owned()
            }
            SecurityEvent::RecoveryCodeUsed { remaining } => format!(
                "One of your recovery codes was used in place of your authenticator app. Unused recovery codes left: {remaining}."
            ),
            SecurityEvent::AuthenticatorBlocked { after } => format!(
                "After {after} wrong codes, codes from your authenticator app no longer sign in to your account. \
Sign in with one of your recovery codes to unblock them."
            ),
            SecurityEvent::PhoneAdded { new_phone } => format!(
                "The phone number {new_phone} was added to your account: it now signs in to it and gets its codes."
            ),
            SecurityEvent::AuthenticatorAdded => {
                "An authenticator app was added to your account: signing in now needs a code from it as well as \
the password."
                    .to_owned()
            }
            SecurityEvent::AuthenticatorRemoved => {
                "The authenticator app and the recovery codes of your account were removed: the password alone \
now signs in to it."
                    .to_owned()
            }
            SecurityEvent::SmsFactorAdded => {
                "Signing in now needs a code sent by SMS to your phone as well as the password; the password is \
reset by email only."
                    .to_owned()
            }
            SecurityEvent::SmsFactorRemoved => {
                "The codes by SMS and the recovery codes of your account were removed: the password alone now \
signs in to it."
                    .to_owned()
            }
            SecurityEvent::RecoveryCodesReplaced => {
                "New recovery codes were made for your account; the old ones no longer work.".to_owned()
            }
            SecurityEvent::FactorsRemovedBySupport => {
                "At a request to the app's support, the second factor and the recovery codes of your \
account were removed and every device was signed out: the password alone now signs in to it."
                    .to_owned()
            }
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            SecurityEvent::PhoneChanged { .. }
            | SecurityEvent::EmailChanged { .. }
            | SecurityEvent::RecoveryCodeUsed { .. }
            | SecurityEvent::PhoneAdded { .. }
            | SecurityEvent::AuthenticatorAdded
            | SecurityEvent::AuthenticatorRemoved
            | SecurityEvent::SmsFactorAdded
            | SecurityEvent::SmsFactorRemoved
            | SecurityEvent::RecoveryCodesReplaced
            | SecurityEvent::FactorsRemovedBySupport => TAKEN_OVER,
            SecurityEvent::AccountDeleted => "If this was not you, tell the app's support.",
            _ => NOT_YOU,
        }
    }
}

/// Where a notice goes.
pub(super) enum NoticeTo {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl NoticeTo {
    fn recipient(&self) -> Recipient<'_> {
        match self {
            NoticeTo::Phone(phone) => Recipient::Phone(phone),
            NoticeTo::Email(email) => Recipient::Email(email),
        }
    }

    fn masked(&self) -> String {
        match self {
            NoticeTo::Phone(phone) => phone.masked(),
            NoticeTo::Email(email) => email.masked(),
        }
    }
}

/// The account's confirmed phone and confirmed email address: where its owner is told things.
pub(super) fn confirmed_channels(account: &AccountRecord) -> Vec<NoticeTo> {
    let mut to = Vec::with_capacity(2);
    if account.phone_confirmed()
        && let Some(phone) = account.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok())
    {
        to.push(NoticeTo::Phone(phone));
    }
    if let Some(email) = account.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) {
        to.push(NoticeTo::Email(email));
    }
    to
}

/// Tells each of `to` about `event` at `now`. Never fails: what could not be sent is logged.
pub(super) async fn notify(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    to: &[NoticeTo],
    event: &SecurityEvent,
    now: i64,
) {
    notify_reporting(app, mailer, partner, to, event, now).await;
}

/// `notify`, saying for each recipient (masked) what became of its notice, for a caller that must
/// show it (the operator's `partners factors-remove`).
pub(super) async fn notify_reporting(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    to: &[NoticeTo],
    event: &SecurityEvent,
    now: i64,
) -> Vec<String> {
    let mut outcomes = Vec::with_capacity(to.len());
    for recipient in to {
        let masked = recipient.masked();
        if partner.sandbox {
            // A sandbox partner sends nothing at all, as with codes.
            tracing::info!(event = event.kind(), to = %masked, "security notice not sent (sandbox partner)");
            outcomes.push(format!("{masked}: not sent (sandbox partner)"));
            continue;
        }
        match send(app, mailer, partner, recipient, event, now).await {
            Ok(true) => {
                tracing::info!(event = event.kind(), to = %masked, "security notice sent");
                outcomes.push(format!("{masked}: sent"));
            }
            Ok(false) => {
                crate::metrics::count(crate::metrics::Counter::NoticeNotSent);
                tracing::warn!(event = event.kind(), to = %masked, "security notice not sent: daily cap");
                outcomes.push(format!("{masked}: NOT SENT (its daily cap of notices is reached)"));
            }
            Err(why) => {
                crate::metrics::count(crate::metrics::Counter::NoticeNotSent);
                tracing::warn!(event = event.kind(), to = %masked, error = %why, "security notice not sent");
                outcomes.push(format!("{masked}: NOT SENT ({why})"));
            }
        }
    }
    outcomes
}

/// One notice: counted against the recipient's daily cap, charged to the partner's SMS budget
/// when it is an SMS, both taken back if the send fails. `false` if the cap was reached.
async fn send(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    to: &NoticeTo,
    event: &SecurityEvent,
    now: i64,
) -> Result<bool, String> {
    let day = now.div_euclid(DAY);
    let cap = CounterKey {
        name: format!("notices:{}:{day}", recipients::digest_of(&to.recipient().log_key(partner))),
        expires_at: (day + 1) * DAY + 3600,
    };
    if !app.counters.increment_below(&cap, NOTICES_PER_RECIPIENT_PER_DAY).await.map_err(|e| e.to_string())? {
        return Ok(false);
    }
    let when = UtcTime(now).to_string();
    let what = event.what();
    let sent = match to {
        NoticeTo::Phone(phone) => {
            let charge = sms_budget::charge(app, partner).await.map_err(|e| e.to_string());
            match charge {
                Ok(charge) => {
                    let text = format!("{} on {when}. {} {}", event.subject(), what, event.advice());
                    let sent = app.sms.send(phone, &text).await.map_err(|e| e.to_string());
                    if sent.is_err() {
                        sms_budget::refund(app, &charge).await;
                    }
                    sent
                }
                Err(why) => Err(why),
            }
        }
        NoticeTo::Email(email) => {
            let text = NoticeText { subject: event.subject(), what: &what, when: &when, advice: event.advice() };
            match mailer.security_notice(partner, email, &text) {
                Ok(message) => mailer.sender.send(email, &message).await.map_err(|e| e.to_string()),
                Err(why) => Err(why.to_string()),
            }
        }
    };
    if let Err(why) = sent {
        if let Err(undo) = app.counters.decrement(&cap).await {
            tracing::warn!(error = %undo, "could not take back a notice's count");
        }
        return Err(why);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::ports::Clock;
    use crate::testing::{TestApp, live_partner};

    #[tokio::test]
    async fn notices_to_one_recipient_stop_at_the_daily_cap_and_start_again_the_next_day() {
        // GIVEN a phone that is told about many changes in one day
        let t = TestApp::new().await;
        let partner = live_partner();
        let phone = PhoneNumber::parse("+447871000031").unwrap();
        let to = [NoticeTo::Phone(phone.clone())];
        for _ in 0..NOTICES_PER_RECIPIENT_PER_DAY + 3 {
            notify(&t.app, &t.mailer, &partner, &to, &SecurityEvent::PasswordChanged, t.clock.now()).await;
        }
        // THEN it got the cap's worth, and one more the next day
        assert_eq!(t.sms.to(phone.e164()).len() as u64, NOTICES_PER_RECIPIENT_PER_DAY);
        t.clock.advance(DAY);
        notify(&t.app, &t.mailer, &partner, &to, &SecurityEvent::PasswordChanged, t.clock.now()).await;
        assert_eq!(t.sms.to(phone.e164()).len() as u64, NOTICES_PER_RECIPIENT_PER_DAY + 1);
    }

    #[tokio::test]
    async fn a_sandbox_partner_sends_no_notice() {
        let t = TestApp::new().await;
        let mut partner = live_partner();
        partner.sandbox = true;
        let phone = PhoneNumber::parse("+447871000032").unwrap();
        let to = [NoticeTo::Phone(phone.clone()), NoticeTo::Email(EmailAddress::parse("s@example.com").unwrap())];
        notify(&t.app, &t.mailer, &partner, &to, &SecurityEvent::PasswordReset, t.clock.now()).await;
        assert!(t.sms.to(phone.e164()).is_empty());
        assert!(t.email.0.lock().unwrap().is_empty());
    }

    #[test]
    fn no_notice_carries_a_code_or_a_link() {
        let events = [
            SecurityEvent::PasswordChanged,
            SecurityEvent::PasswordReset,
            SecurityEvent::PhoneChanged { new_phone: PhoneNumber::parse("+447871234567").unwrap().masked() },
            SecurityEvent::EmailChanged { new_email: "a…@example.com".into() },
            SecurityEvent::NewDeviceSignIn,
            SecurityEvent::AccountDeleted,
            SecurityEvent::RecoveryCodeUsed { remaining: 9 },
            SecurityEvent::AuthenticatorBlocked { after: 100 },
            SecurityEvent::PhoneAdded { new_phone: PhoneNumber::parse("+447871234567").unwrap().masked() },
            SecurityEvent::AuthenticatorAdded,
            SecurityEvent::AuthenticatorRemoved,
            SecurityEvent::SmsFactorAdded,
            SecurityEvent::SmsFactorRemoved,
            SecurityEvent::RecoveryCodesReplaced,
            SecurityEvent::FactorsRemovedBySupport,
        ];
        for event in events {
            let text = format!("{} {} {}", event.subject(), event.what(), event.advice());
            let longest_digit_run = text.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap();
            assert!(longest_digit_run < 4, "{text}");
            assert!(!text.contains("http"), "{text}");
        }
    }
}
