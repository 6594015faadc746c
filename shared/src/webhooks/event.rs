//! The events a partner's webhook endpoint receives, and the one JSON body each is sent as: the
//! contract partners code against, documented under `webhooks` in openapi.yaml (a test keeps the
//! two the same).
//!
//! The body follows the Standard Webhooks payload shape, `type`, `timestamp` and `data`, with a
//! `version` that changes only when a field changes meaning or goes (new fields and new event types
//! do not change it: receivers ignore what they do not know). `data` always carries the `userId` the
//! event is about, and what changed; never a secret, a code, a link, a password or its hash.
//!
//! Phone numbers and email addresses are masked unless the endpoint was made with full contact
//! details (`Disclosure::Full`): an endpoint is one more place personal data goes, and most
//! receivers need only to know that the number changed (to refetch the profile through the API, or
//! to mark a copy stale), so the default keeps to data minimisation (GDPR Article 5(1)(c)). A
//! partner that mirrors contact details opts in, knowing its receiver then holds them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::domain::phone::PhoneNumber;
use crate::domain::utc_time::UtcTime;
use crate::ports::{AccountRecord, FactorKind};
use crate::security::random;

/// Bumped only when a field changes meaning or is removed.
pub const SCHEMA_VERSION: u64 = 1;

/// How an endpoint receives phone numbers and email addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    /// `+447…89`, `a…@example.com`: the default.
    #[default]
    Masked,
    /// As confirmed, in full: only for an endpoint made with full contact details.
    Full,
}

/// The identifier an account signed up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

/// How the password came to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// By the signed-in user, who knew the old one.
    Changed,
    /// By a code to the phone or a link to the mailbox (Forgot password): every session ended.
    Reset,
}

/// Which sessions a sign-out ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsEnded {
    /// One session, by its id.
    One,
    /// Every session but the caller's.
    Others,
}

/// Who removed a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedBy {
    /// The user, after stepping up.
    User,
    /// The partner's support (`partners factors-remove`), for a user who lost the factor and the
    /// recovery codes; every session ended with it.
    Support,
}

/// What happened to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    /// The signup's code or link was confirmed: the account exists from now on.
    Created {
        identifier: Identifier,
    },
    /// The account and its data are erased: the partner erases its copies (GDPR Article 17(2)).
    Deleted,
    /// A phone was confirmed, replacing `previous` (none when an email-first account added one).
    PhoneChanged {
        phone: PhoneNumber,
        previous: Option<PhoneNumber>,
    },
    /// An email address was confirmed, replacing `previous` (none when it is the first).
    EmailChanged {
        email: EmailAddress,
        previous: Option<EmailAddress>,
    },
    PasswordChanged {
        how: PasswordChange,
    },
    SessionsEnded {
        which: SessionsEnded,
    },
    /// The level shown to the partner changed (KYC_0 by the details rule, KYC_1 by Sumsub's review).
    KycLevelChanged {
        level: KycLevel,
        previous: KycLevel,
    },
    /// A second factor, with a new set of recovery codes.
    FactorAdded {
        factor: FactorKind,
    },
    /// A second factor and its recovery codes: the password alone signs in.
    FactorRemoved {
        factor: FactorKind,
        by: RemovedBy,
    },
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesReplaced,
}

impl AccountEvent {
    /// `account.kyc_level_changed` if a change that sets the KYC_0 rule's result to `rule_level`
    /// moves the level shown to the partner (which adds Sumsub's review).
    pub fn kyc_change(account: &AccountRecord, rule_level: KycLevel) -> Option<AccountEvent> {
        let previous = account.shown_kyc_level();
        let level = KycLevel::shown(rule_level, account.identity_review.as_ref());
        (level != previous).then_some(AccountEvent::KycLevelChanged { level, previous })
    }

    /// Every `type`, as openapi.yaml lists them under `webhooks`.
    pub const TYPES: [&'static str; 10] = [
        "account.created",
        "account.deleted",
        "account.phone_changed",
        "account.email_changed",
        "account.password_changed",
        "account.sessions_ended",
        "account.kyc_level_changed",
        "account.factor_added",
        "account.factor_removed",
        "account.recovery_codes_replaced",
    ];

    pub fn kind(&self) -> &'static str {
        let index = match self {
            AccountEvent::Created { .. } => 0,
            AccountEvent::Deleted => 1,
            AccountEvent::PhoneChanged { .. } => 2,
            AccountEvent::EmailChanged { .. } => 3,
            AccountEvent::PasswordChanged { .. } => 4,
            AccountEvent::SessionsEnded { .. } => 5,
            AccountEvent::KycLevelChanged { .. } => 6,
            AccountEvent::FactorAdded { .. } => 7,
            AccountEvent::FactorRemoved { .. } => 8,
            AccountEvent::RecoveryCodesReplaced => 9,
        };
        Self::TYPES[index]
    }

    /// What changed, beside `userId`.
    fn fields(&self, disclosure: Disclosure) -> Map<String, Value> {
        let phone = |number: &PhoneNumber| match disclosure {
            Disclosure::Masked => number.masked(),
            Disclosure::Full => number.e164().to_owned(),
        };
        let email = |address: &EmailAddress| match disclosure {
            Disclosure::Masked => address.masked(),
            Disclosure::Full => address.as_str().to_owned(),
        };
        let fields = match self {
            AccountEvent::Created { identifier: Identifier::Phone(number) } => {
                json!({ "signedUpWith": "phone", "phone": phone(number) })
            }
            AccountEvent::Created { identifier: Identifier::Email(address) } => {
                json!({ "signedUpWith": "email", "email": email(address) })
            }
            AccountEvent::Deleted | AccountEvent::RecoveryCodesReplaced => json!({}),
            AccountEvent::PhoneChanged { phone: number, previous } => {
                json!({ "phone": phone(number), "previousPhone": previous.as_ref().map(phone) })
            }
            AccountEvent::EmailChanged { email: address, previous } => {
                json!({ "email": email(address), "previousEmail": previous.as_ref().map(email) })
            }
            AccountEvent::PasswordChanged { how } => json!({ "how": match how {
                PasswordChange::Changed => "changed",
                PasswordChange::Reset => "reset",
            } }),
            AccountEvent::SessionsEnded { which } => json!({ "which": match which {
                SessionsEnded::One => "one",
                SessionsEnded::Others => "others",
            } }),
            AccountEvent::KycLevelChanged { level, previous } => {
                json!({ "kycLevel": level.as_str(), "previousKycLevel": previous.as_str() })
            }
            AccountEvent::FactorAdded { factor } => json!({ "factorType": factor.as_str() }),
            AccountEvent::FactorRemoved { factor, by } => json!({
                "factorType": factor.as_str(),
                "removedBy": match by { RemovedBy::User => "user", RemovedBy::Support => "support" },
            }),
        };
        match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// Where an event item is in the table: what the stream gives the dispatcher and a delivery task
/// carries, so the deliverer reads the event as it is at delivery (gone, if the account was erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventKey {
    pub pk: String,
    pub sk: String,
}

/// One event about one account, as the outbox keeps it until every endpoint has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// `evt_` and 26 characters that sort by time: the `webhook-id` of every delivery of it,
    /// retries and replays included, so a receiver drops what it has seen.
    pub id: EventId,
    pub user_id: String,
    pub partner_id: String,
    /// The account's events so far, this one included (`data.sequence`): the account keeps the
    /// count and every change that reports an event writes the next one on condition that the
    /// count is as read, so a user's events are numbered in the order their changes committed, and
    /// a receiver that keeps the highest it has seen ignores an older event that arrives late.
    pub sequence: u64,
    /// Unix seconds: the clock of the function that made the change, read before its transaction.
    pub occurred_at: i64,
    pub event: AccountEvent,
}

impl EventRecord {
    /// Event number `sequence` about `user_id` of `partner_id`, from a change made at `now` (Unix
    /// seconds).
    pub fn new(event: AccountEvent, user_id: &str, partner_id: &str, now: i64, sequence: u64) -> EventRecord {
        // Milliseconds in the id, so ids of one second sort as they were made within one function;
        // the sequence, not the id, orders one user's events.
        let sub_second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| u64::from(elapsed.subsec_millis()));
        let id = EventId::new(u64::try_from(now).unwrap_or(0).saturating_mul(1000) + sub_second);
        EventRecord {
            id,
            user_id: user_id.to_owned(),
            partner_id: partner_id.to_owned(),
            sequence,
            occurred_at: now,
            event,
        }
    }

    /// The events one change reports about `account` (as read before the change), numbered on
    /// from the account's count.
    pub fn after(
        account: &AccountRecord,
        events: impl IntoIterator<Item = AccountEvent>,
        now: i64,
    ) -> Vec<EventRecord> {
        events
            .into_iter()
            .zip(1..)
            .map(|(event, n)| {
                EventRecord::new(event, &account.user_id, &account.merchant_id, now, account.event_sequence + n)
            })
            .collect()
    }

    /// The body an endpoint receives: the same meaning on every delivery, retries and replays
    /// included (the same bytes while the endpoint's disclosure and this build stay the same).
    pub fn body(&self, disclosure: Disclosure) -> String {
        let mut data = Map::new();
        data.insert("userId".to_owned(), Value::String(self.user_id.clone()));
        data.insert("sequence".to_owned(), Value::from(self.sequence));
        data.extend(self.event.fields(disclosure));
        json!({
            "type": self.event.kind(),
            "timestamp": UtcTime(self.occurred_at).rfc3339(),
            "version": SCHEMA_VERSION,
            "data": data,
        })
        .to_string()
    }

    /// Whether the event names a phone number or an email address: such an event item is filed in
    /// the account's index, so the account's erasure deletes it with the rest of its data.
    pub fn names_contact(&self) -> bool {
        matches!(
            self.event,
            AccountEvent::Created { .. } | AccountEvent::PhoneChanged { .. } | AccountEvent::EmailChanged { .. }
        )
    }
}

/// An event's id: `evt_`, then 48 bits of milliseconds and 80 random bits in Crockford base32
/// (the ULID layout), so ids sort by the time they were made and never repeat.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId(String);

impl EventId {
    const PREFIX: &'static str = "evt_";

    pub fn new(unix_ms: u64) -> EventId {
        let random = random::bytes::<10>();
        let mut value = u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80;
        for (shift, byte) in random.iter().rev().enumerate() {
            value |= u128::from(*byte) << (8 * shift);
        }
        EventId(format!("{}{}", Self::PREFIX, crockford(value)))
    }

    /// An id as stored or as a partner quotes it for a replay.
    pub fn parse(text: &str) -> Option<EventId> {
        let body = text.strip_prefix(Self::PREFIX)?;
        let valid = body.len() == 26 && body.bytes().all(|b| CROCKFORD.contains(&b)) && body.as_bytes()[0] <= b'7';
        valid.then(|| EventId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The millisecond the id was made in (its first 10 characters after `evt_`).
    pub fn unix_ms(&self) -> u64 {
        let digits = &self.0.as_bytes()[Self::PREFIX.len()..Self::PREFIX.len() + TIME_DIGITS];
        digits.iter().fold(0, |ms, digit| {
            let value = CROCKFORD.iter().position(|c| c == digit).unwrap_or(0) as u64;
            (ms << 5) | value
        })
    }

    /// The smallest id made in `unix_ms`: ids of a time range sort from this one's to the next
    /// millisecond's.
    pub fn first_of(unix_ms: u64) -> String {
        let time = crockford(u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80);
        format!("{}{}{}", Self::PREFIX, &time[..TIME_DIGITS], "0".repeat(26 - TIME_DIGITS))
    }
}

/// The characters that carry an id's 48 bits of milliseconds: exactly the first ten (3 + 9 × 5).
const TIME_DIGITS: usize = 10;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 128 bits as 26 characters, most significant first (the first carries 3 bits).
fn crockford(value: u128) -> String {
    (0..26).rev().map(|digit| CROCKFORD[((value >> (5 * digit)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_gives_back_its_millisecond_and_sorts_between_that_and_the_next_ones_first() {
        for ms in [0, 1, 1_765_000_000_123, 0xFFFF_FFFF_FFFF] {
            let id = EventId::new(ms);
            assert_eq!(id.unix_ms(), ms);
            assert!(EventId::first_of(ms).as_str() <= id.as_str());
            assert!(ms == 0xFFFF_FFFF_FFFF || id.as_str() < EventId::first_of(ms + 1).as_str());
            assert!(EventId::parse(&EventId::first_of(ms)).is_some());
        }
    }

    fn record(event: AccountEvent) -> EventRecord {
        EventRecord::new(event, "user-1", "partner-1", 1_765_000_000, 3)
    }

    fn body(event: AccountEvent, disclosure: Disclosure) -> Value {
        serde_json::from_str(&record(event).body(disclosure)).unwrap()
    }

    fn phone(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn a_body_carries_type_time_version_and_the_user() {
        let sent = body(AccountEvent::Deleted, Disclosure::Masked);
        assert_eq!(
            sent,
            json!({"type": "account.deleted", "timestamp": "2025-12-06T05:46:40Z", "version": 1,
                   "data": {"userId": "user-1", "sequence": 3}})
        );
    }

    #[test]
    fn contact_details_are_masked_unless_the_endpoint_takes_them_in_full() {
        let event =
            AccountEvent::PhoneChanged { phone: phone("+447871234567"), previous: Some(phone("+447871234999")) };
        let masked = body(event.clone(), Disclosure::Masked);
        assert_eq!(masked["data"]["phone"], "+447…67");
        assert_eq!(masked["data"]["previousPhone"], "+447…99");
        assert!(!masked.to_string().contains("787123"), "{masked}");
        let full = body(event, Disclosure::Full);
        assert_eq!(full["data"]["phone"], "+447871234567");
        let email =
            AccountEvent::EmailChanged { email: EmailAddress::parse("ann@example.com").unwrap(), previous: None };
        let masked = body(email, Disclosure::Masked);
        assert_eq!(masked["data"]["email"], "a…@example.com");
        assert_eq!(masked["data"]["previousEmail"], Value::Null);
    }

    #[test]
    fn the_same_record_gives_the_same_bytes_every_time() {
        let record = record(AccountEvent::FactorRemoved { factor: FactorKind::Sms, by: RemovedBy::Support });
        assert_eq!(record.body(Disclosure::Masked), record.body(Disclosure::Masked));
        let sent: Value = serde_json::from_str(&record.body(Disclosure::Masked)).unwrap();
        assert_eq!(
            sent["data"],
            json!({"userId": "user-1", "sequence": 3, "factorType": "sms", "removedBy": "support"})
        );
    }

    #[test]
    fn ids_sort_by_time_and_parse_back() {
        let earlier = EventId::new(1_765_000_000_000);
        let later = EventId::new(1_765_000_000_001);
        assert!(earlier < later);
        assert_eq!(earlier.as_str().len(), 30);
        assert_eq!(EventId::parse(earlier.as_str()), Some(earlier.clone()));
        assert_ne!(EventId::new(1_765_000_000_000), EventId::new(1_765_000_000_000));
        for bad in [
            "",
            "evt_",
            "msg_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "evt_01ARZ3NDEKTSV4RRFFQ69G5FA",
            "evt_81ARZ3NDEKTSV4RRFFQ69G5FAV",
            "evt_01ARZ3NDEKTSV4RRFFQ69G5FAU",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }
}
