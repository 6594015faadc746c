//! The single-table DynamoDB store. Key layout (pk / sk):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | phone claim (uniqueness marker) | `PHONE#<merchant>#<e164>` | `CLAIM` |
//! | confirmation code | `PHONE#<merchant>#<e164>` | `CODE#<purpose>` |
//! | sign-in failure streak | `PHONE#<merchant>#<e164>` | `SIGNIN` |
//! | account | `USER#<uuid>` | `ACCOUNT` |
//! | session family | `USER#<uuid>` | `SESSION#<id>` |
//! | refresh token | `REFRESH#<sha256>` | `REFRESH` |
//! | email claim (uniqueness marker) | `EMAIL#<merchant>#<address>` | `CLAIM` |
//! | email signup code, sign-in back-off by email | `EMAIL#<merchant>#<address>` | `CODE#EMAIL_SIGNUP`, `SIGNIN` |
//! | email confirmation link token | `EMAILTOKEN#<sha256>` | `TOKEN` |
//! | send log of a phone or mailbox (caps across partners) | `SENDLOG#SMS:<e164>`, `SENDLOG#EMAIL:<address>` | `LOG` |
//! | partner (one partition: the admin lists it with one query) | `PARTNERS` | `PARTNER#<uuid>` |
//! | counter (per-IP window, daily SMS budget) | `COUNTER#<name>` | `COUNT` |
//!
//! `ttl` lets DynamoDB delete dead items eventually; expiry is always decided in code from `expiresAt`.

mod email_signup;
mod errors;
mod items;
mod partners;
mod passwords;
mod phone_add;
mod profile;
mod store;

pub use store::DynamoAccountStore;
