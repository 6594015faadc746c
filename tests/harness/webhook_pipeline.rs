//! The webhook pipeline as Lambda runs it, played here on moto: the table's stream read as an event
//! source mapping reads it (from the start of each shard, a batch at a time, a batch given again
//! from the record the dispatcher reports as failed), the dispatcher, the FIFO delivery queue, and
//! the deliverer fed as Lambda's SQS poller feeds it (each message it does not report is deleted).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use registration::adapters::sqs::SqsDeliveryQueue;
use registration::handlers::webhook_deliver::{self, Deliverer};
use registration::handlers::webhook_dispatch::{self, StreamBatch};
use registration::ports::{DeliveryQueue, DeliveryTask, EventOutbox, QueueError, WebhookEndpoints};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::TestEnv;

/// Records a stream batch holds at most, as the dispatcher's event source mapping sets it.
const STREAM_BATCH: i32 = 100;
/// Tasks the deliverer is given at once, as its event source mapping sets it.
const DELIVERY_BATCH: i32 = 1;

pub struct Pipeline {
    streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    stream_arn: String,
    /// Per shard, the sequence number of the last record dispatched.
    checkpoints: Mutex<HashMap<String, String>>,
    /// The dispatcher's event source mapping's filter, from template.yaml.
    filter: Value,
}

impl Pipeline {
    /// The pipeline of `env`'s table: its stream, and a FIFO delivery queue of its own.
    pub async fn start(env: &TestEnv) -> Pipeline {
        let sdk = env.moto.sdk_config().await;
        let queue = format!("deliveries-{}.fifo", uuid::Uuid::new_v4().simple());
        Pipeline::on(&sdk, &env.dynamodb, &env.table, &queue).await
    }

    /// The pipeline of `table` on the emulator `sdk` reaches: its stream, and the FIFO delivery
    /// queue `queue_name` (made if missing). `make dev` runs it (`devstack webhooks`).
    pub async fn on(
        sdk: &aws_config::SdkConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        table: &str,
        queue_name: &str,
    ) -> Pipeline {
        let described = dynamodb.describe_table().table_name(table).send().await.expect("describe the table");
        let stream_arn = described
            .table
            .and_then(|table| table.latest_stream_arn)
            .expect("the table has a stream, as template.yaml declares");
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(queue_name)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            // As template.yaml makes it (the redrive to the dead letters is not played here).
            .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "120")
            .send()
            .await
            .expect("create the delivery queue")
            .queue_url
            .expect("a queue URL");
        Pipeline {
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            sqs,
            queue_url,
            stream_arn,
            checkpoints: Mutex::default(),
            filter: dispatch_filter(),
        }
    }

    /// The real queue adapter on this pipeline's queue.
    pub fn queue(&self) -> SqsDeliveryQueue {
        SqsDeliveryQueue::new(self.sqs.clone(), self.queue_url.clone())
    }

    /// One pass of the stream's poller: every record since the last checkpoint to the dispatcher, a
    /// batch at a time. A batch the dispatcher fails part of is given again from the failed record on
    /// the next pass, as Lambda does. How many records the dispatcher finished.
    pub async fn dispatch(
        &self,
        outbox: &dyn EventOutbox,
        endpoints: &dyn WebhookEndpoints,
        queue: &dyn DeliveryQueue,
    ) -> usize {
        let stream =
            self.streams.describe_stream().stream_arn(&self.stream_arn).send().await.expect("describe the stream");
        let shards = stream.stream_description.and_then(|d| d.shards).unwrap_or_default();
        let mut checkpoints = self.checkpoints.lock().await;
        let mut finished = 0;
        for shard in shards {
            let shard_id = shard.shard_id.expect("a shard id");
            let iterator = self.streams.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(&shard_id);
            let iterator = match checkpoints.get(&shard_id) {
                Some(done) => {
                    iterator.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(done)
                }
                None => iterator.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut next = iterator.send().await.expect("a shard iterator").shard_iterator;
            while let Some(position) = next.take() {
                let page = self
                    .streams
                    .get_records()
                    .shard_iterator(position)
                    .limit(STREAM_BATCH)
                    .send()
                    .await
                    .expect("stream records");
                let records = page.records.unwrap_or_default();
                if records.is_empty() {
                    break;
                }
                // The mapping's filter drops the rest before the function sees them; they count as done.
                let sequence = |r: &Value| r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned();
                let all: Vec<Value> = records.iter().map(lambda_stream_record).collect();
                let last_seen = all.last().map(sequence).unwrap_or_default();
                let batch: Vec<Value> = all.into_iter().filter(|record| matches(&self.filter, record)).collect();
                if batch.is_empty() {
                    checkpoints.insert(shard_id.clone(), last_seen);
                    next = page.next_shard_iterator;
                    continue;
                }
                let sequences: Vec<String> = batch.iter().map(sequence).collect();
                let batch: StreamBatch =
                    serde_json::from_value(json!({ "Records": batch })).expect("a stream event for Lambda");
                let answer = crate::aws_calls::as_function(
                    "webhook-dispatch",
                    webhook_dispatch::handle(outbox, endpoints, queue, batch),
                )
                .await;
                match answer.failures.first() {
                    None => {
                        finished += sequences.len();
                        checkpoints.insert(shard_id.clone(), last_seen);
                        next = page.next_shard_iterator;
                    }
                    Some(failed) => {
                        let at = sequences.iter().position(|s| *s == failed.id).unwrap_or(0);
                        finished += at;
                        if at > 0 {
                            checkpoints.insert(shard_id.clone(), sequences[at - 1].clone());
                        }
                        break;
                    }
                }
            }
        }
        finished
    }

    /// One receive of the queue's poller: up to ten visible messages to the deliverer; those it
    /// does not report as failed are deleted. How many messages it was given.
    pub async fn deliver(&self, deliverer: &Deliverer<'_>) -> usize {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            // As the deliverer's event source mapping takes them (template.yaml, BatchSize).
            .max_number_of_messages(DELIVERY_BATCH)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
            )
            .send()
            .await
            .expect("receive messages");
        let messages = received.messages.unwrap_or_default();
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attribute = |name: aws_sdk_sqs::types::MessageSystemAttributeName| {
                    m.attributes.as_ref().and_then(|a| a.get(&name)).cloned()
                };
                json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "attributes": {
                        "ApproximateReceiveCount": attribute(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount),
                        "ApproximateFirstReceiveTimestamp": attribute(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
                    },
                    "eventSource": "aws:sqs",
                })
            })
            .collect();
        if records.is_empty() {
            return 0;
        }
        let batch = serde_json::from_value(json!({ "Records": records })).expect("an SQS event for Lambda");
        let answer = crate::aws_calls::as_function("webhook-deliver", webhook_deliver::handle(deliverer, batch)).await;
        for message in &messages {
            let id = message.message_id.clone().unwrap_or_default();
            if !answer.failures.iter().any(|f| f.id == id) {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete a delivered message");
            }
        }
        messages.len()
    }

    /// Messages on the queue, visible or not.
    pub async fn queued(&self) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        attributes.values().filter_map(|n| n.parse::<usize>().ok()).sum()
    }
}

/// The filter pattern of the dispatcher's stream event in template.yaml.
fn dispatch_filter() -> Value {
    let text = std::fs::read_to_string(crate::stack::template_path()).expect("template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    let events = &template["Resources"]["WebhookDispatchFunction"]["Properties"]["Events"];
    let pattern = events["Outbox"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("the dispatcher's stream event has a filter pattern");
    serde_json::from_str(pattern).expect("the filter pattern is JSON")
}

/// Whether `record` passes `pattern`, as Lambda's event filtering reads the part of its syntax the
/// template uses: objects of fields, each a list of values or `{"prefix": …}` rules.
fn matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(name, inner)| matches(inner, &record[name])),
        Value::Array(options) => options.iter().any(|option| match option {
            Value::Object(rule) => match rule.get("prefix").and_then(Value::as_str) {
                Some(prefix) => record.as_str().is_some_and(|text| text.starts_with(prefix)),
                None => panic!("a filter rule the harness does not read: {option}"),
            },
            literal => record == literal,
        }),
        other => panic!("a filter pattern the harness does not read: {other}"),
    }
}

/// A record of DynamoDB Streams as Lambda hands it to a function.
fn lambda_stream_record(record: &aws_sdk_dynamodbstreams::types::Record) -> Value {
    let change = record.dynamodb.as_ref();
    let key = |name: &str| {
        change
            .and_then(|c| c.keys.as_ref())
            .and_then(|keys| keys.get(name))
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    json!({
        "eventName": record.event_name.as_ref().map(|n| n.as_str().to_owned()),
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": { "pk": { "S": key("pk") }, "sk": { "S": key("sk") } },
            "SequenceNumber": change.and_then(|c| c.sequence_number.clone()),
            "StreamViewType": "KEYS_ONLY",
        },
    })
}

/// The real queue, failing on command: after `taken` tasks have gone through, the rest of a batch
/// fails, as a dispatcher that dies midway leaves it.
pub struct FailingQueue {
    pub inner: SqsDeliveryQueue,
    pub fail_after: std::sync::Mutex<Option<usize>>,
}

#[async_trait]
impl DeliveryQueue for FailingQueue {
    async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), QueueError> {
        let fail_after = self.fail_after.lock().expect("lock").take();
        match fail_after {
            Some(taken) => {
                self.inner.enqueue(&tasks[..taken.min(tasks.len())]).await?;
                Err(QueueError("failed on command, midway".into()))
            }
            None => self.inner.enqueue(tasks).await,
        }
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.inner.retry_after(receipt, delay).await
    }
}

/// The real queue, with time passing at once: each delay a retry asks for is recorded, the
/// service's clock moved on by it, and the message made visible again straight away, as if that
/// long had passed.
pub struct ImpatientQueue {
    pub inner: SqsDeliveryQueue,
    pub clock: std::sync::Arc<crate::faults::TestClock>,
    pub delays: std::sync::Mutex<Vec<Duration>>,
}

#[async_trait]
impl DeliveryQueue for ImpatientQueue {
    async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), QueueError> {
        self.inner.enqueue(tasks).await
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.delays.lock().expect("lock").push(delay);
        self.clock.advance(delay.as_secs() as i64);
        self.inner.retry_after(receipt, Duration::ZERO).await
    }
}
