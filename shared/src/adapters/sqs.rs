//! The delivery queue on SQS: a FIFO queue, a message per delivery task, grouped per endpoint and
//! user, deduplicated by event and endpoint (`ports::DeliveryTask`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::ports::{DeliveryQueue, DeliveryTask, QueueError};

/// SQS takes at most ten messages a batch.
const BATCH: usize = 10;
/// SQS's longest visibility timeout.
const LONGEST_VISIBILITY_SECS: u64 = 12 * 3600;

pub struct SqsDeliveryQueue {
    client: Client,
    queue_url: String,
}

impl SqsDeliveryQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> SqsDeliveryQueue {
        SqsDeliveryQueue { client, queue_url: queue_url.into() }
    }
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), QueueError> {
        // How many were taken before a failure, for whoever runs it again (a replay) to know.
        let mut taken = 0;
        for chunk in tasks.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (n, task) in chunk.iter().enumerate() {
                let body = serde_json::to_string(task).map_err(|e| QueueError(e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(body)
                    .message_group_id(task.group_id())
                    .message_deduplication_id(task.deduplication_id())
                    .build()
                    .map_err(|e| QueueError(e.to_string()))?;
                entries.push(entry);
            }
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    QueueError(format!(
                        "SendMessageBatch: {} ({taken} of {} taken before)",
                        aws_sdk_sqs::error::DisplayErrorContext(&e),
                        tasks.len()
                    ))
                })?;
            if !sent.failed.is_empty() {
                return Err(QueueError(format!(
                    "SendMessageBatch: {} of {} not taken ({} of {} taken in all)",
                    sent.failed.len(),
                    chunk.len(),
                    taken + sent.successful.len(),
                    tasks.len()
                )));
            }
            taken += chunk.len();
        }
        Ok(())
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let seconds = delay.as_secs().min(LONGEST_VISIBILITY_SECS) as i32;
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                QueueError(format!("ChangeMessageVisibility: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))
            })
    }
}
