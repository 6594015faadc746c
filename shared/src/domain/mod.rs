//! Validated input and the rules the seeds set on it.

pub mod email;
pub mod identity_review;
pub mod kyc;
pub mod partner;
pub mod password;
pub mod password_policy;
pub mod personal_details;
pub mod phone;
pub mod send_limits;
pub mod signin_backoff;
pub mod simple_password;
pub mod sumsub;
pub mod utc_time;
