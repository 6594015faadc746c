//! The service's own metrics, in CloudWatch's embedded metric format (EMF): one JSON line per
//! request on standard output, which CloudWatch Logs turns into metrics with no API call and no
//! permission beyond the logs. template.yaml's alarms watch them: each function's canary alarms
//! (`Fault`, `Latency`: they roll a deploy back) and the stack's (`Throttled`, `SmsNotSent`,
//! `NoticeNotSent`, `KmsThrottled`, `TransactionConflict`), none of which AWS's own metrics show:
//! a handler turns every failure into an answer, so Lambda's `Errors` sees only crashes.
//!
//! Namespace `Registration`: `Fault` and `Latency` per `Stack` (`STACK_NAME`) and `Function`, the
//! rest per `Stack`.
//! The counters belong to the request whose task counts them (`serve` scopes each request).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong inside a request without failing it.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    /// A code or notice SMS that SNS did not take.
    SmsNotSent,
    /// A security notice (SMS or email) that could not be sent.
    NoticeNotSent,
    /// KMS throttled (or could not be reached for) a signature.
    KmsThrottled,
    /// DynamoDB cancelled a transaction because another one raced it (not a failed condition).
    TransactionConflict,
}

const COUNTERS: [&str; 4] = ["SmsNotSent", "NoticeNotSent", "KmsThrottled", "TransactionConflict"];

/// What one request counted.
#[derive(Debug, Default)]
pub struct Counts([AtomicU64; 4]);

impl Counts {
    pub fn get(&self, counter: Counter) -> u64 {
        self.0[counter as usize].load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    static REQUEST: Arc<Counts>;
}

/// Counts `counter` for the request in flight; outside a request (set-up, tools) it counts nothing.
pub fn count(counter: Counter) {
    let _ = REQUEST.try_with(|counts| counts.0[counter as usize].fetch_add(1, Ordering::Relaxed));
}

/// Runs one request's `work`, and what it counted.
pub async fn counted<F: Future>(work: F) -> (F::Output, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let out = REQUEST.scope(counts.clone(), work).await;
    (out, counts)
}

/// The request's EMF record.
pub fn request_record(
    stack: &str,
    function: &str,
    status: u16,
    latency_ms: u64,
    counts: &Counts,
    timestamp_ms: u64,
) -> String {
    let mut record = serde_json::json!({
        "Stack": stack,
        "Function": function,
        "Fault": u64::from(status >= 500),
        "Throttled": u64::from(status == 429),
        "Latency": latency_ms,
    });
    let mut stack_wide = vec![serde_json::json!({ "Name": "Throttled", "Unit": "Count" })];
    for (i, name) in COUNTERS.iter().enumerate() {
        stack_wide.push(serde_json::json!({ "Name": name, "Unit": "Count" }));
        record[*name] = counts.0[i].load(Ordering::Relaxed).into();
    }
    // Per function only what its canary alarms watch; the rest per stack. Each metric and
    // dimension set is a custom metric CloudWatch bills monthly: 2 x 25 + 5, not 7 x 26.
    record["_aws"] = serde_json::json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {
                "Namespace": "Registration",
                "Dimensions": [["Stack", "Function"]],
                "Metrics": [{ "Name": "Fault", "Unit": "Count" }, { "Name": "Latency", "Unit": "Milliseconds" }],
            },
            { "Namespace": "Registration", "Dimensions": [["Stack"]], "Metrics": stack_wide },
        ],
    });
    record.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_record_carries_the_request_and_what_went_wrong_in_it_and_nothing_of_another() {
        // GIVEN a request in which a notice could not be sent and KMS throttled twice
        let ((), counts) = counted(async {
            count(Counter::NoticeNotSent);
            count(Counter::KmsThrottled);
            tokio::task::yield_now().await;
            count(Counter::KmsThrottled);
        })
        .await;
        // AND, outside it, another count
        count(Counter::SmsNotSent);
        // WHEN it answered 503 after 812 ms
        let record: serde_json::Value =
            serde_json::from_str(&request_record("reg-prod", "token", 503, 812, &counts, 1_800_000_000_000)).unwrap();
        // THEN the record is EMF: the canary's metrics per function, the rest per stack, each with its value
        let directives = record["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives[0]["Dimensions"], serde_json::json!([["Stack", "Function"]]));
        assert_eq!(directives[1]["Dimensions"], serde_json::json!([["Stack"]]));
        let mut declared = Vec::new();
        for directive in directives {
            assert_eq!(directive["Namespace"], "Registration");
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(record[name].is_u64(), "{metric}");
                declared.push(name.to_owned());
            }
        }
        declared.sort();
        let expected =
            ["Fault", "KmsThrottled", "Latency", "NoticeNotSent", "SmsNotSent", "Throttled", "TransactionConflict"];
        assert_eq!(declared, expected);
        assert_eq!((record["Fault"].as_u64(), record["Throttled"].as_u64()), (Some(1), Some(0)));
        assert_eq!((record["Latency"].as_u64(), record["KmsThrottled"].as_u64()), (Some(812), Some(2)));
        assert_eq!((record["NoticeNotSent"].as_u64(), record["SmsNotSent"].as_u64()), (Some(1), Some(0)));
        // AND a 429 is counted as throttled, not as a fault
        let next: serde_json::Value =
            serde_json::from_str(&request_record("s", "token", 429, 3, &Counts::default(), 0)).unwrap();
        assert_eq!((next["Fault"].as_u64(), next["Throttled"].as_u64()), (Some(0), Some(1)));
    }
}
