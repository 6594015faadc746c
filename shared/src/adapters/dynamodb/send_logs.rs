//! The send log of each phone and mailbox: a version-conditioned list of send times, written in the
//! same transaction as whatever the send is for.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::domain::send_limits::{DAY, SendLog, SendReservation};
use crate::ports::{SendLogs, StoreError};

/// The log as the reservation leaves it, if nobody wrote it since it was read.
fn send_log_update(sent_at: &[i64], send: &SendReservation) -> (&'static str, &'static str, Values) {
    let vals = values([
        (":sent", n_list(sent_at)),
        (":version", n(send.new_version())),
        (":expected", n(send.expected_version)),
        (":ttl", n(send.at + DAY)),
    ]);
    let condition = if send.expected_version == 0 {
        "attribute_not_exists(pk) OR version = :expected"
    } else {
        "version = :expected"
    };
    ("SET sentAt = :sent, version = :version, #ttl = :ttl", condition, vals)
}

impl DynamoStore {
    /// The reservation's write, for a transaction that does more.
    pub(super) fn send_log_write(&self, send: &SendReservation) -> Result<TransactWriteItem, StoreError> {
        let (update, condition, vals) = send_log_update(&send.sent_at, send);
        self.update(item_key(send_log_pk(&send.log), SEND_LOG_SK), update, condition, vals)
    }
}

#[async_trait]
impl SendLogs for DynamoStore {
    async fn send_log(&self, key: &str) -> Result<SendLog, StoreError> {
        let key = key.to_owned();
        match self.get("GetItem send log", item_key(send_log_pk(&key), SEND_LOG_SK)).await? {
            Some(item) => send_log_from(key, &item),
            None => Ok(SendLog { key, ..SendLog::default() }),
        }
    }

    async fn record_send(&self, send: &SendReservation) -> Result<(), StoreError> {
        let (update, condition, vals) = send_log_update(&send.sent_at, send);
        let key = item_key(send_log_pk(&send.log), SEND_LOG_SK);
        self.update_one("UpdateItem record send", key, update, condition, vals).await
    }

    async fn release_send(&self, send: &SendReservation) -> Result<(), StoreError> {
        let vals = values([
            (":sent", n_list(&send.released())),
            (":next", n(send.new_version() + 1)),
            (":written", n(send.new_version())),
        ]);
        let key = item_key(send_log_pk(&send.log), SEND_LOG_SK);
        self.update_one(
            "UpdateItem release send",
            key,
            "SET sentAt = :sent, version = :next",
            "version = :written",
            vals,
        )
        .await
    }
}
