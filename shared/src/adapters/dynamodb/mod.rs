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
//! | SMS send log (caps are per number, across partners) | `SMS#<e164>` | `LOG` |
//!
//! `ttl` lets DynamoDB delete dead items eventually; expiry is always decided in code from `expiresAt`.

mod errors;
mod items;
mod store;

pub use store::DynamoAccountStore;
