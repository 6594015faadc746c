//! How password recovery names the account: `phone` or `email`, exactly one. An address counts only
//! once it is confirmed (its claim), never while it is only pending on an account.

use crate::domain::email::EmailAddress;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::ports::{EmailKey, OwnedIdentifier, PhoneKey};

pub(super) fn phone_or_email(
    merchant_id: &str,
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<OwnedIdentifier, ApiError> {
    let merchant_id = merchant_id.to_owned();
    match (phone, email) {
        (Some(phone), None) => Ok(OwnedIdentifier::Phone(PhoneKey { merchant_id, phone: PhoneNumber::parse(phone)? })),
        (None, Some(email)) => Ok(OwnedIdentifier::Email(EmailKey { merchant_id, email: EmailAddress::parse(email)? })),
        (Some(_), Some(_)) => Err(ApiError::validation("email", "oneOf", "Send phone or email, not both.")),
        (None, None) => Err(ApiError::validation("phone", "required", "Send the account's phone or email.")),
    }
}
