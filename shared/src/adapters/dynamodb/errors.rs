//! Turns SDK errors into the store's three outcomes, so "taken" is never confused with "down".

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::ports::StoreError;

const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

pub fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            if code == "ConditionalCheckFailedException" {
                StoreError::Conflict
            } else if THROTTLING.contains(&code) {
                StoreError::Unavailable(format!("{operation}: {code}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}"))
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(format!("{operation}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&err)))
        }
        _ => StoreError::Backend(format!("{operation}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&err))),
    }
}

/// A cancelled transaction is a conflict when a condition failed or another transaction raced it;
/// throttling inside it is the store being unavailable.
pub fn classify_transaction<R: std::fmt::Debug>(
    operation: &'static str,
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    if let SdkError::ServiceError(service) = &err
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
    {
        let codes: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
        if codes.iter().any(|c| THROTTLING.contains(c)) {
            return StoreError::Unavailable(format!("{operation}: cancelled {codes:?}"));
        }
        if codes.contains(&"TransactionConflict") {
            crate::metrics::count(crate::metrics::Counter::TransactionConflict);
        }
        return StoreError::Conflict;
    }
    classify(operation, err)
}
