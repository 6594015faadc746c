//! What names an account to its partner, where a message goes, and whose sign-in failures count.

use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::domain::phone::PhoneNumber;

/// A partner and a phone: the scope in which a phone number identifies one account.
#[derive(Debug, Clone)]
pub struct PhoneKey {
    pub merchant_id: String,
    pub phone: PhoneNumber,
}

/// A partner and an email address: the scope in which a confirmed address identifies one account.
#[derive(Debug, Clone)]
pub struct EmailKey {
    pub merchant_id: String,
    pub email: EmailAddress,
}

/// What names an account to its partner: a phone number or an email address. Codes and the
/// sign-in back-off are kept per identifier.
#[derive(Debug, Clone, Copy)]
pub enum Identifier<'a> {
    Phone(&'a PhoneKey),
    Email(&'a EmailKey),
}

impl Identifier<'_> {
    pub fn merchant_id(&self) -> &str {
        match self {
            Identifier::Phone(key) => &key.merchant_id,
            Identifier::Email(key) => &key.merchant_id,
        }
    }

    /// The phone in E.164 or the normalised address.
    pub fn address(&self) -> &str {
        match self {
            Identifier::Phone(key) => key.phone.e164(),
            Identifier::Email(key) => key.email.as_str(),
        }
    }
}

/// Whose sign-in failures a streak counts. Every password check is counted in two: the
/// identifier's (known or not, so unknown ones are throttled alike) and the account's, so guessing
/// by phone and by email draws on one budget. An identifier without an account counts in a streak
/// of its own in the account's place, so both cases read and write the same items.
#[derive(Debug, Clone, Copy)]
pub enum Streak<'a> {
    Identifier(Identifier<'a>),
    Account(&'a str),
}

/// Where a code, link or notice goes. Sends are limited per recipient, across partners, because
/// the cost and the annoyance fall on the number or the mailbox.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    Phone(&'a PhoneNumber),
    /// The phone of the account `user_id` (its second arm) whose second factor is codes by SMS, for
    /// a code only the account's owner can ask for (a sign-in's second step, behind the password; a
    /// step-up, behind a session): counted in a log of the account's own, so strangers who fill the
    /// number's shared log (password-reset decoys, signups on a taken number) cannot hold the
    /// owner's sign-in back. The log is named by a digest of the user id, never the number: it may
    /// outlive the account by a day (its TTL) and then names nobody's phone.
    AccountPhone(&'a PhoneNumber, &'a str),
    Email(&'a EmailAddress),
}

impl Recipient<'_> {
    /// A stable key for the recipient's send log. A sandbox partner sends nothing, so its requests
    /// are counted in a log of its own: they never use up a real user's limits.
    pub fn log_key(&self, partner: &Partner) -> String {
        let recipient = match self {
            Recipient::Phone(phone) => format!("SMS:{}", phone.e164()),
            Recipient::AccountPhone(_, user_id) => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user_id.as_bytes());
                format!("SMS:ACCOUNT:{}", crate::security::random::hex(digest.as_ref()))
            }
            Recipient::Email(email) => format!("EMAIL:{}", email.as_str()),
        };
        if partner.sandbox { format!("SANDBOX:{}:{recipient}", partner.id) } else { recipient }
    }
}
