//! The single-table DynamoDB store. Key layout (pk / sk):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | phone claim (uniqueness marker) | `PHONE#<merchant>#<e164>` | `CLAIM` |
//! | confirmation code | `PHONE#<merchant>#<e164>` | `CODE#<purpose>` |
//! | sign-in failure streak of a phone | `PHONE#<merchant>#<e164>` | `SIGNIN` |
//! | account (with Sumsub's newest verdict in `kycReview*`, apart from the KYC_0 rule's `kycLevel`; `sessionsStarted`, `phoneCodesIssued` and `mfaChallenges` count what is filed under it, for the erasure's condition; second factors in `totp*` and `recovery*`) | `USER#<uuid>` | `ACCOUNT` |
//! | sign-in failure streak of an account (of an identifier without one: `USER#none:<merchant>:<id>`) | `USER#<uuid>` | `SIGNIN` |
//! | session family | `USER#<uuid>` | `SESSION#<id>` |
//! | index entry: an item of the account found by another key (refresh token, link token), for deletion | `USER#<uuid>` | `INDEX#<its pk>` (`targetSk`: its sk) |
//! | index entry: a code (or decoy) of the account under a number not its own (phone add and change), for deletion | `USER#<uuid>` | `CODEREF#<its pk>\|<its sk>` (`targetPk`, `targetSk`) |
//! | device mark: the owner is told of sign-ins from this device (new-device notices; a day) | `USER#<uuid>` | `DEVICE#<SHA-256 of X-Fingerprint>` |
//! | sign-in challenge waiting for a second factor (its index entry under the account; counted in `mfaChallenges`) | `MFA#<sha256 of the mfa_token>` | `CHALLENGE` |
//! | refresh token | `REFRESH#<sha256>` | `REFRESH` |
//! | email claim (uniqueness marker) | `EMAIL#<merchant>#<address>` | `CLAIM` |
//! | email signup code, sign-in back-off by email | `EMAIL#<merchant>#<address>` | `CODE#EMAIL_SIGNUP`, `SIGNIN` |
//! | email confirmation link token | `EMAILTOKEN#<sha256>` | `TOKEN` |
//! | send log of a phone or mailbox (caps across live partners) | `SENDLOG#SMS:<e164>`, `SENDLOG#EMAIL:<address>` | `LOG` |
//! | a sandbox partner's own send log of one | `SENDLOG#SANDBOX:<merchant>:SMS:<e164>` (or `EMAIL:`) | `LOG` |
//! | send log of an SMS factor's codes (per account, named by no number) | `SENDLOG#SMS:ACCOUNT:<SHA-256 of the user id, hex>` (a sandbox partner's: `SENDLOG#SANDBOX:<merchant>:SMS:ACCOUNT:…`) | `LOG` |
//! | partner (one partition: the admin lists it with one query); its Sumsub secrets are in Secrets Manager | `PARTNERS` | `PARTNER#<uuid>` |
//! | deletion record (no personal data; kept 3 years) | `DELETIONS#<merchant>` | `AT#<unix, 12 digits>#<uuid>` |
//! | second factors removed by the partner's support (user id, time, the partner's reference; kept 3 years) | `FACTORREMOVALS#<merchant>` | `AT#<unix, 12 digits>#<uuid>` |
//! | webhook event (the outbox, `events.rs`: written in the transaction of the change it reports; `ttl` 30 days; the table's stream feeds the dispatcher) | `EVENTS#<merchant>#<shard 00 to 15, by the user id>` | `evt_<ULID>` |
//! | index entry: an event naming a contact detail, deleted with the account | `USER#<uuid>` | `EVENTREF#<event id>` |
//! | webhook endpoint (its secret sealed by KMS, and the previous one with `previousSecretUntil` while a rotation overlaps; `disabledReason` once 410 or three days of failures stopped it; `notifyEmail`, told then) | `WEBHOOKS#<merchant>` | `ENDPOINT#<id>` |
//! | webhook delivery log: one attempt (`ttl` 30 days) | `WEBHOOKLOG#<merchant>#<endpoint id>` | `<unix, 11 digits>#<event id>#<attempt, 4 digits>` |
//! | counter (per-IP window, daily SMS budget), member set (an account's recipients of the day) | `COUNTER#<name>` | `COUNT` |
//!
//! `ttl` lets DynamoDB delete dead items eventually; expiry is always decided in code from `expiresAt`.

//!
//! `table` holds the primitives and `items` the keys and record conversions; each other file is one
//! capability of `crate::ports` (`impl Codes for DynamoStore` in `codes.rs`, and so on).

mod codes;
mod deletions;
mod directory;
mod errors;
pub mod events;
mod factors;
mod items;
mod partners;
mod passwords;
mod profiles;
mod send_logs;
mod sessions;
mod signups;
mod streaks;
mod table;
mod webhook_endpoints;

pub use deletions::DELETION_RECORD_RETENTION_SECS;
pub use table::DynamoStore;
pub use webhook_endpoints::DELIVERED_RESOLUTION_SECS;
