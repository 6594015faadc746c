//! Validated input and the rules the seeds set on it.

pub mod password;
pub mod password_policy;
pub mod phone;
pub mod signin_backoff;
pub mod simple_password;
pub mod sms_limits;
