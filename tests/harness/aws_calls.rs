//! Every AWS call a function's handler makes during the end-to-end suite, recorded as the IAM
//! actions AWS would authorize it by, so `tests/rehearsal/test_iam.py` can hold each function's
//! policy in the SAM-transformed template against what its code really calls. moto authorizes
//! nothing, so without this a missing grant shows only on AWS, as an AccessDenied and a 500.
//!
//! The recording sits in the SDK's HTTP client (every client built from `Moto::sdk_config` goes
//! through it) and reads the request as AWS's authorizer would: the operation from `X-Amz-Target`,
//! the form's `Action` or the REST path, and for a transaction each item's own action, because IAM
//! has no `TransactWriteItems` action: it authorizes `PutItem`, `UpdateItem`, `DeleteItem` and
//! `ConditionCheckItem` per item. A call is attributed to the function whose handler is running
//! (`as_function`, set by the harness around each handler); calls outside any handler are the
//! harness's own set-up and are not recorded.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde_json::Value;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// One authorized action: the function (its binary name), the IAM action and what it acts on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub function: &'static str,
    pub action: String,
    /// The kind of resource, as the rehearsal names a policy's `Resource`: `table`, `table-index`,
    /// `pepper-secret`, `sumsub-secret`, `signing-key`, `factor-key`, `phone`, `topic`, `email-identity`,
    /// `queue`.
    pub resource: String,
    /// For a DynamoDB item call, its partition key up to and including the first `#` (`USER#`,
    /// `WEBHOOKLOG#`): what a `dynamodb:LeadingKeys` condition is checked against. Empty otherwise.
    pub partition: String,
}

/// Runs `work` as the handler of `function`: its AWS calls are recorded under that name.
pub async fn as_function<F: std::future::Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

/// Every distinct call recorded in this process so far.
pub fn recorded() -> BTreeSet<Call> {
    recorder().seen.lock().expect("recorder lock").clone()
}

struct Recorder {
    seen: Mutex<BTreeSet<Call>>,
    /// `AWS_CALLS_LOG`: a JSON-lines file each new call is appended to, for the rehearsal to read.
    log: Option<Mutex<std::fs::File>>,
}

fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let log = std::env::var_os("AWS_CALLS_LOG").map(|path| {
            let file = OpenOptions::new().create(true).append(true).open(&path).expect("AWS_CALLS_LOG is writable");
            Mutex::new(file)
        });
        Recorder { seen: Mutex::new(BTreeSet::new()), log }
    })
}

fn record(function: &'static str, action: String, resource: String, partition: String) {
    let call = Call { function, action, resource, partition };
    let recorder = recorder();
    let new = recorder.seen.lock().expect("recorder lock").insert(call.clone());
    if let (true, Some(log)) = (new, &recorder.log) {
        let line = serde_json::json!({
            "function": call.function, "action": call.action, "resource": call.resource, "partition": call.partition,
        });
        writeln!(log.lock().expect("log lock"), "{line}").expect("write AWS_CALLS_LOG");
    }
}

/// The IAM actions (with their resource kinds, and for a DynamoDB item its partition's prefix) that
/// AWS authorizes `request` by.
pub fn actions(request: &HttpRequest) -> Vec<(String, String, String)> {
    let body = request.body().bytes().unwrap_or_default();
    if let Some(target) = request.headers().get("x-amz-target")
        && let Some(operation) = target.strip_prefix("DynamoDB_20120810.")
    {
        return dynamodb_actions(operation, &serde_json::from_slice::<Value>(body).unwrap_or(Value::Null));
    }
    other_actions(request).into_iter().map(|(action, resource)| (action, resource, String::new())).collect()
}

fn other_actions(request: &HttpRequest) -> Vec<(String, String)> {
    let header = |name: &str| request.headers().get(name).map(str::to_owned);
    let body = request.body().bytes().unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    if let Some(target) = header("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap_or((target.as_str(), ""));
        return match service {
            s if s.starts_with("DynamoDB_") => vec![(format!("dynamodb:{operation}"), "unknown".to_owned())],
            "TrentService" => {
                // Second-factor secrets are sealed under the factor key, with their own purpose.
                // Webhook secrets too, under the same key with a purpose of their own.
                let purpose = json()["EncryptionContext"]["purpose"].as_str().map(str::to_owned);
                let kind = match purpose.as_deref() {
                    Some("registration-factor-secret" | "registration-webhook-secret") => "factor-key",
                    _ => "signing-key",
                };
                vec![(format!("kms:{operation}"), kind.to_owned())]
            }
            "secretsmanager" => {
                let id = json()["SecretId"].as_str().unwrap_or_default().to_owned();
                let kind = if id.contains("/sumsub/") { "sumsub-secret" } else { "pepper-secret" };
                vec![(format!("secretsmanager:{operation}"), kind.to_owned())]
            }
            // SQS speaks JSON; a batch is authorized as its single action.
            "AmazonSQS" => {
                let action = operation.strip_suffix("Batch").unwrap_or(operation);
                vec![(format!("sqs:{action}"), "queue".to_owned())]
            }
            other => vec![(format!("{other}:{operation}"), "unknown".to_owned())],
        };
    }
    let text = String::from_utf8_lossy(body);
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&text).unwrap_or_default();
    if let Some((_, action)) = form.iter().find(|(k, _)| k == "Action") {
        // SNS speaks the query protocol; this service only publishes SMS to phone numbers.
        let to_phone = form.iter().any(|(k, _)| k == "PhoneNumber");
        return vec![(format!("sns:{action}"), if to_phone { "phone" } else { "topic" }.to_owned())];
    }
    let path = request.uri().split("://").nth(1).and_then(|rest| rest.find('/').map(|i| &rest[i..])).unwrap_or("");
    if request.method() == "POST" && path.starts_with("/v2/email/outbound-emails") {
        return vec![("ses:SendEmail".to_owned(), "email-identity".to_owned())];
    }
    vec![(format!("unknown:{} {path}", request.method()), "unknown".to_owned())]
}

fn dynamodb_actions(operation: &str, body: &Value) -> Vec<(String, String, String)> {
    let on_index = body.get("IndexName").is_some();
    match operation {
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => other,
                };
                Some((format!("dynamodb:{action}"), "table".to_owned(), partition(inner)))
            })
            .collect(),
        "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| ("dynamodb:GetItem".to_owned(), "table".to_owned(), partition(&item["Get"])))
            .collect(),
        other => {
            let kind = if on_index { "table-index" } else { "table" };
            vec![(format!("dynamodb:{other}"), kind.to_owned(), partition(body))]
        }
    }
}

/// The prefix (to the first `#`, included) of the partition key a DynamoDB request or transaction
/// item names: its `Item`'s or `Key`'s `pk`, or a query's `:pk`. Empty when it names none (a batch).
fn partition(request: &Value) -> String {
    let pk =
        [&request["Item"]["pk"]["S"], &request["Key"]["pk"]["S"], &request["ExpressionAttributeValues"][":pk"]["S"]]
            .into_iter()
            .find_map(Value::as_str)
            .unwrap_or_default();
    match pk.find('#') {
        Some(at) => pk[..=at].to_owned(),
        None => pk.to_owned(),
    }
}

/// The SDK's HTTP client, recording each request it sends for a handler.
#[derive(Debug)]
pub struct RecordingClient {
    inner: SharedHttpClient,
}

impl RecordingClient {
    pub fn wrapping(inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(RecordingClient { inner })
    }
}

impl HttpClient for RecordingClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector { inner: self.inner.http_connector(settings, components) })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if let Ok(function) = FUNCTION.try_with(|f| *f) {
            for (action, resource, partition) in actions(&request) {
                record(function, action, resource, partition);
            }
        }
        self.inner.call(request)
    }
}
