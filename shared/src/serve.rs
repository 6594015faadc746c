//! Running a function: what its handler needs is built once per cold start, starting at init but
//! not holding init back. The load (configuration, and the AWS reads some functions make: the
//! pepper, the origin secret behind CloudFront, the sealed signing key) runs as a background task
//! from the moment the process starts; the runtime meanwhile fetches the first event, and the first
//! request waits only for what is still loading. Every request waits for the load to finish, so
//! none is served without its pepper (the known and unknown paths of a request wait alike).
//!
//! A configuration error stops the function (exit 1, as a failed init would: Lambda starts a new
//! environment). If AWS cannot be reached, the function stays up: each request answers the 503
//! `UNAVAILABLE` envelope and tries the load again, until one succeeds. Otherwise the callers would
//! get API Gateway's bare 5xx.
//!
//! With provisioned concurrency an environment can be frozen between init and its first request
//! with the read in flight; the request then waits for that read to finish or fail (bounded by
//! `call_limits`), and a failed one is tried again in that request.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Error, Request, Response, run, service_fn};
use tokio::sync::OnceCell;

use crate::config::ConfigError;
use crate::edge::EdgeGuard;
use crate::error::ApiError;
use crate::http::response::finish;
use crate::metrics;

/// Runs `handle` on what `load` built, building it again on later requests if AWS was unreachable.
pub async fn serve<S, L, LF, H, HF>(endpoint: &'static str, load: L, handle: H) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    L: Fn() -> LF + Send + Sync + 'static,
    LF: Future<Output = Result<S, ConfigError>> + Send,
    H: Fn(&'static S, Request) -> HF + Send + Sync + 'static,
    HF: Future<Output = Result<Response<Body>, Infallible>> + Send,
{
    let state: &'static OnceCell<(S, EdgeGuard)> = Box::leak(Box::new(OnceCell::new()));
    let load = &*Box::leak(Box::new(load));
    // The function's own load and the edge guard's read, side by side.
    let load_all = move || async move { tokio::try_join!(load(), EdgeGuard::from_env()) };
    tokio::spawn(async move {
        let loading = std::time::Instant::now();
        let loaded = state.get_or_try_init(load_all).await.map(|_| ());
        // What the cold start spent loading (configuration and any AWS read), apart from the process
        // start: `make bench` reports it.
        let load_ms = loading.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(endpoint, load_ms, "cold start loaded");
        match loaded {
            Ok(()) => {}
            Err(ConfigError::Unreadable(why)) => {
                tracing::warn!(endpoint, error = %why, "AWS unreachable at cold start; requests answer 503 until it is");
            }
            Err(other) => {
                tracing::error!(endpoint, error = %other, "configuration error; stopping");
                std::process::exit(1);
            }
        }
    });
    let handle = &*Box::leak(Box::new(handle));
    let stack: &'static str = Box::leak(std::env::var("STACK_NAME").unwrap_or_default().into_boxed_str());
    run(service_fn(move |mut req: Request| async move {
        let started = std::time::Instant::now();
        let (answer, counts) = metrics::counted(async {
            match state.get_or_try_init(load_all).await {
                Ok((loaded, guard)) => match guard.admit(&mut req) {
                    Ok(()) => handle(loaded, req).await,
                    Err(refused) => finish(endpoint, &req, Err(refused)),
                },
                Err(ConfigError::Unreadable(why)) => {
                    tracing::warn!(endpoint, error = %why, "AWS still unreachable");
                    finish(endpoint, &req, Err(ApiError::Unavailable))
                }
                Err(other) => finish(endpoint, &req, Err(ApiError::Internal(other.to_string()))),
            }
        })
        .await;
        if let Ok(response) = &answer {
            let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let now = u64::try_from(now.as_millis()).unwrap_or_default();
            // EMF is read from standard output as one JSON object per line (metrics.rs).
            println!("{}", metrics::request_record(stack, endpoint, response.status().as_u16(), latency, &counts, now));
        }
        answer
    }))
    .await
}
