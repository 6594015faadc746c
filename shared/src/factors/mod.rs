//! Authentication factors and what a session's sign-in proved. The assurance of a session
//! (`assurance`) is what every access token carries (`acr`, `amr`, `auth_time`) and what step-up
//! rules read; second factors, passkeys and payment confirmation each add methods to it, never a
//! second notion of "how well signed in".

pub mod assurance;
pub mod totp;
