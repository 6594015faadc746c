//! Authentication factors and what a session's sign-in proved. The assurance of a session
//! (`assurance`) is what every access token carries (`acr`, `amr`, `auth_time`) and what step-up
//! rules read; second factors, passkeys and payment confirmation each add methods to it, never a
//! second notion of "how well signed in".
//!
//! One module per concept: `totp` and `recovery` are the factors' own arithmetic, `step_up` the
//! table of what needs which assurance, `policy` a partner's choice and what a right password
//! leads to under it. None of them touches the store or AWS.

pub mod assurance;
pub mod policy;
pub mod recovery;
pub mod step_up;
pub mod totp;
