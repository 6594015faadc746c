//! Event items (the webhook outbox): how an `EventRecord` is written, in the transaction of the
//! change it reports, and read back by the dispatcher from the stream's new image.
//!
//! An event lives in one of its partner's `EVENT_SHARDS` partitions, `EVENTS#<partner>#<shard>`,
//! the shard a hash of the user id, sorted by its id: one user's events share a partition (and so
//! a stream shard, which keeps their order), a partner's writes spread over the shards instead of
//! one hot partition (a transactional write costs two units, and a throttled event Put would fail
//! the change itself), and a replay of a time range is one Query per shard on the ids' time
//! prefix. `ttl` ends an event after `EVENT_RETENTION_SECS`, how far back a replay reaches. What
//! changed is kept as typed attributes, never as a rendered body: the body is made per endpoint,
//! masked or not.
//!
//! An event that names a phone number or an address is also filed in the account's index
//! (`EVENTREF#<id>`), so the account's erasure deletes it: no contact detail outlives the account
//! in the outbox.

use aws_lc_rs::digest;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::items::{Item, get_n, get_opt_s, get_s, item_key, n, s, user_pk};
use super::table::{DynamoStore, Order, Values, values};
use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::domain::phone::PhoneNumber;
use crate::ports::{EventOutbox, FactorKind, StoreError};
use crate::webhooks::event::{
    AccountEvent, EventId, EventKey, EventRecord, Identifier, PasswordChange, RemovedBy, SessionsEnded,
};

/// How long an event stays replayable: 30 days.
pub const EVENT_RETENTION_SECS: i64 = 30 * 86_400;

pub const EVENTS_PREFIX: &str = "EVENTS#";

/// Sort-key prefix of the account's index entries for its events that name a contact detail.
pub const EVENT_REF_PREFIX: &str = "EVENTREF#";

/// Partitions per partner. At about 500 transactional event writes a second per partition, 16
/// take a partner's busiest hour; a replay costs this many Queries.
pub const EVENT_SHARDS: u8 = 16;

/// The partition of `user_id`'s events at `partner_id`.
pub fn events_pk(partner_id: &str, user_id: &str) -> String {
    let hash = digest::digest(&digest::SHA256, user_id.as_bytes());
    shard_pk(partner_id, hash.as_ref()[0] % EVENT_SHARDS)
}

fn shard_pk(partner_id: &str, shard: u8) -> String {
    format!("{EVENTS_PREFIX}{partner_id}#{shard:02}")
}

fn malformed(attr: &str) -> StoreError {
    StoreError::Backend(format!("event attribute {attr} is missing or malformed"))
}

impl DynamoStore {
    /// The writes that put a change's events in its transaction: each event item (an id never
    /// repeats, so it must not exist), and for one that names a contact detail, its entry in the
    /// account's index. The account's own update carries `event_count`.
    pub(super) fn event_writes(
        &self,
        events: &[EventRecord],
        out: &mut Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        for record in events {
            let item = event_item(record);
            let (pk, sk) = (get_s(&item, "pk")?, get_s(&item, "sk")?);
            out.push(self.put(item, Some("attribute_not_exists(pk)"), Values::new())?);
            if record.names_contact() {
                let mut entry = item_key(user_pk(&record.user_id), format!("{EVENT_REF_PREFIX}{sk}"));
                entry.extend([
                    ("targetPk".to_owned(), s(&pk)),
                    ("targetSk".to_owned(), s(&sk)),
                    ("ttl".to_owned(), n(record.occurred_at + EVENT_RETENTION_SECS)),
                ]);
                out.push(self.put(entry, Some("attribute_not_exists(pk)"), Values::new())?);
            }
        }
        Ok(())
    }
}

/// The account update's part in a change that reports `events` (numbered on from the account's
/// count as read): `SET` the count to the last, on condition that it is still the one they were
/// numbered from, so two changes that read the same count cannot both report the next number.
/// Both strings are empty when there is no event; otherwise `set` begins with `, ` and `condition`
/// with ` AND `, to be appended.
pub(super) fn event_count(events: &[EventRecord], vals: &mut Values) -> (String, String) {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return (String::new(), String::new());
    };
    let read = first.sequence.saturating_sub(1);
    vals.insert(":eventSeq".to_owned(), n(last.sequence));
    let condition = if read == 0 {
        " AND attribute_not_exists(eventSeq)".to_owned()
    } else {
        vals.insert(":eventSeqRead".to_owned(), n(read));
        " AND eventSeq = :eventSeqRead".to_owned()
    };
    (", eventSeq = :eventSeq".to_owned(), condition)
}

/// The item a change's transaction puts (with `attribute_not_exists(pk)`, `event_writes`).
pub fn event_item(record: &EventRecord) -> Item {
    let mut item = item_key(events_pk(&record.partner_id, &record.user_id), record.id.as_str());
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    put("eventType", s(record.event.kind()));
    put("userId", s(&record.user_id));
    put("partnerId", s(&record.partner_id));
    put("sequence", n(record.sequence));
    put("occurredAt", n(record.occurred_at));
    put("ttl", n(record.occurred_at + EVENT_RETENTION_SECS));
    match &record.event {
        AccountEvent::Created { identifier: Identifier::Phone(phone) } => put("phone", s(phone.e164())),
        AccountEvent::Created { identifier: Identifier::Email(email) } => put("email", s(email.as_str())),
        AccountEvent::Deleted | AccountEvent::RecoveryCodesReplaced => {}
        AccountEvent::PhoneChanged { phone, previous } => {
            put("phone", s(phone.e164()));
            if let Some(previous) = previous {
                put("previousPhone", s(previous.e164()));
            }
        }
        AccountEvent::EmailChanged { email, previous } => {
            put("email", s(email.as_str()));
            if let Some(previous) = previous {
                put("previousEmail", s(previous.as_str()));
            }
        }
        AccountEvent::PasswordChanged { how } => put(
            "how",
            s(match how {
                PasswordChange::Changed => "changed",
                PasswordChange::Reset => "reset",
            }),
        ),
        AccountEvent::SessionsEnded { which } => put(
            "which",
            s(match which {
                SessionsEnded::One => "one",
                SessionsEnded::Others => "others",
            }),
        ),
        AccountEvent::KycLevelChanged { level, previous } => {
            put("kycLevel", s(level.as_str()));
            put("previousKycLevel", s(previous.as_str()));
        }
        AccountEvent::FactorAdded { factor } => put("factorType", s(factor.as_str())),
        AccountEvent::FactorRemoved { factor, by } => {
            put("factorType", s(factor.as_str()));
            put(
                "removedBy",
                s(match by {
                    RemovedBy::User => "user",
                    RemovedBy::Support => "support",
                }),
            );
        }
    }
    item
}

#[async_trait::async_trait]
impl EventOutbox for DynamoStore {
    async fn event(&self, key: &EventKey) -> Result<Option<EventRecord>, StoreError> {
        // Only event items: a key from elsewhere reads nothing.
        if !key.pk.starts_with(EVENTS_PREFIX) {
            return Ok(None);
        }
        let item = self.get("GetItem webhook event", item_key(key.pk.clone(), key.sk.clone())).await?;
        item.as_ref().map(event_record).transpose()
    }

    async fn events_between(
        &self,
        partner_id: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<(EventKey, EventRecord)>, StoreError> {
        // From the first id of `from_ms` to past every id of `to_ms`: `~` sorts after every
        // Crockford digit.
        let last = EventId::first_of(to_ms);
        let bounds =
            values([(":from", s(EventId::first_of(from_ms))), (":to", s(format!("{}~", &last[..last.len() - 16])))]);
        let mut events = Vec::new();
        for shard in 0..EVENT_SHARDS {
            if events.len() >= limit {
                break;
            }
            let pk = shard_pk(partner_id, shard);
            let left = Some(limit - events.len());
            let between = "sk BETWEEN :from AND :to";
            let items =
                self.query_sorted("Query webhook events", pk, between, bounds.clone(), Order::Oldest, left).await?;
            for item in &items {
                let record = event_record(item)?;
                events.push((EventKey { pk: get_s(item, "pk")?, sk: record.id.as_str().to_owned() }, record));
            }
        }
        Ok(events)
    }
}

/// An event item back as its record; an item this build cannot read is an error, never a guess.
pub fn event_record(item: &Item) -> Result<EventRecord, StoreError> {
    let id = EventId::parse(&get_s(item, "sk")?).ok_or_else(|| malformed("sk"))?;
    let phone = |attr: &str| {
        get_opt_s(item, attr).map(|text| PhoneNumber::parse(&text).map_err(|_| malformed(attr))).transpose()
    };
    let email = |attr: &str| {
        get_opt_s(item, attr).map(|text| EmailAddress::parse(&text).map_err(|_| malformed(attr))).transpose()
    };
    let text = |attr: &str| get_s(item, attr);
    let kyc = |attr: &str| match text(attr)?.as_str() {
        "NONE" => Ok(KycLevel::None),
        "KYC_0" => Ok(KycLevel::Kyc0),
        "KYC_1" => Ok(KycLevel::Kyc1),
        _ => Err(malformed(attr)),
    };
    let factor = || match text("factorType")?.as_str() {
        "totp" => Ok(FactorKind::Totp),
        "sms" => Ok(FactorKind::Sms),
        _ => Err(malformed("factorType")),
    };
    let event = match text("eventType")?.as_str() {
        "account.created" => match (phone("phone")?, email("email")?) {
            (Some(phone), None) => AccountEvent::Created { identifier: Identifier::Phone(phone) },
            (None, Some(email)) => AccountEvent::Created { identifier: Identifier::Email(email) },
            _ => return Err(malformed("phone")),
        },
        "account.deleted" => AccountEvent::Deleted,
        "account.phone_changed" => AccountEvent::PhoneChanged {
            phone: phone("phone")?.ok_or_else(|| malformed("phone"))?,
            previous: phone("previousPhone")?,
        },
        "account.email_changed" => AccountEvent::EmailChanged {
            email: email("email")?.ok_or_else(|| malformed("email"))?,
            previous: email("previousEmail")?,
        },
        "account.password_changed" => AccountEvent::PasswordChanged {
            how: match text("how")?.as_str() {
                "changed" => PasswordChange::Changed,
                "reset" => PasswordChange::Reset,
                _ => return Err(malformed("how")),
            },
        },
        "account.sessions_ended" => AccountEvent::SessionsEnded {
            which: match text("which")?.as_str() {
                "one" => SessionsEnded::One,
                "others" => SessionsEnded::Others,
                _ => return Err(malformed("which")),
            },
        },
        "account.kyc_level_changed" => {
            AccountEvent::KycLevelChanged { level: kyc("kycLevel")?, previous: kyc("previousKycLevel")? }
        }
        "account.factor_added" => AccountEvent::FactorAdded { factor: factor()? },
        "account.factor_removed" => AccountEvent::FactorRemoved {
            factor: factor()?,
            by: match text("removedBy")?.as_str() {
                "user" => RemovedBy::User,
                "support" => RemovedBy::Support,
                _ => return Err(malformed("removedBy")),
            },
        },
        "account.recovery_codes_replaced" => AccountEvent::RecoveryCodesReplaced,
        _ => return Err(malformed("eventType")),
    };
    Ok(EventRecord {
        id,
        user_id: text("userId")?,
        partner_id: text("partnerId")?,
        sequence: get_n(item, "sequence")?,
        occurred_at: get_n(item, "occurredAt")?,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_event() -> Vec<AccountEvent> {
        let phone = |text: &str| PhoneNumber::parse(text).unwrap();
        let email = |text: &str| EmailAddress::parse(text).unwrap();
        vec![
            AccountEvent::Created { identifier: Identifier::Phone(phone("+447871234567")) },
            AccountEvent::Created { identifier: Identifier::Email(email("ann@example.com")) },
            AccountEvent::Deleted,
            AccountEvent::PhoneChanged { phone: phone("+447871234567"), previous: None },
            AccountEvent::PhoneChanged { phone: phone("+447871234567"), previous: Some(phone("+447871234999")) },
            AccountEvent::EmailChanged { email: email("ann@example.com"), previous: None },
            AccountEvent::EmailChanged { email: email("ann@example.com"), previous: Some(email("bo@example.org")) },
            AccountEvent::PasswordChanged { how: PasswordChange::Changed },
            AccountEvent::PasswordChanged { how: PasswordChange::Reset },
            AccountEvent::SessionsEnded { which: SessionsEnded::One },
            AccountEvent::SessionsEnded { which: SessionsEnded::Others },
            AccountEvent::KycLevelChanged { level: KycLevel::Kyc1, previous: KycLevel::None },
            AccountEvent::FactorAdded { factor: FactorKind::Totp },
            AccountEvent::FactorRemoved { factor: FactorKind::Sms, by: RemovedBy::User },
            AccountEvent::FactorRemoved { factor: FactorKind::Totp, by: RemovedBy::Support },
            AccountEvent::RecoveryCodesReplaced,
        ]
    }

    #[test]
    fn every_event_reads_back_as_it_was_written() {
        for event in every_event() {
            let record = EventRecord::new(event, "user-1", "partner-1", 1_765_000_000, 7);
            let item = event_item(&record);
            assert_eq!(event_record(&item).unwrap(), record);
            assert_eq!(get_s(&item, "pk").unwrap(), events_pk("partner-1", "user-1"));
            assert_eq!(get_n::<i64>(&item, "ttl").unwrap(), 1_765_000_000 + EVENT_RETENTION_SECS);
        }
    }

    #[test]
    fn an_item_this_build_cannot_read_is_an_error() {
        let record = EventRecord::new(
            AccountEvent::FactorAdded { factor: FactorKind::Totp },
            "user-1",
            "partner-1",
            1_765_000_000,
            1,
        );
        let mut item = event_item(&record);
        item.insert("factorType".into(), s("webauthn"));
        assert!(event_record(&item).is_err());
        item.insert("eventType".into(), s("account.renamed"));
        assert!(event_record(&item).is_err());
    }

    #[test]
    fn a_user_keeps_one_partition_and_a_partner_spreads_over_all() {
        assert_eq!(events_pk("p", "user-1"), events_pk("p", "user-1"));
        let shards: std::collections::HashSet<String> =
            (0..2000).map(|i| events_pk("p", &format!("user-{i}"))).collect();
        assert_eq!(shards.len(), usize::from(EVENT_SHARDS));
        assert!(shards.iter().all(|pk| pk.starts_with("EVENTS#p#") && pk.len() == "EVENTS#p#00".len()));
    }
}
