//! Running a function: what its handler needs is built once, at cold start. A configuration error
//! stops the function there. But if AWS cannot be reached at cold start (Secrets Manager for the
//! pepper, KMS for the public keys), the function starts anyway: each request answers the 503
//! `UNAVAILABLE` envelope and tries again, until one succeeds. Otherwise the callers would get API
//! Gateway's bare 5xx for an init failure.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Error, Request, Response, run, service_fn};
use tokio::sync::OnceCell;

use crate::config::ConfigError;
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
    let state: &'static OnceCell<S> = Box::leak(Box::new(OnceCell::new()));
    let loading = std::time::Instant::now();
    let loaded = load().await;
    // What the cold start spent loading (configuration and any AWS read), apart from the process
    // start: `make bench` reports it beside the whole init.
    let load_ms = loading.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(endpoint, load_ms, "cold start loaded");
    match loaded {
        Ok(loaded) => {
            let _ = state.set(loaded);
        }
        Err(ConfigError::Unreadable(why)) => {
            tracing::warn!(endpoint, error = %why, "AWS unreachable at cold start; requests answer 503 until it is");
        }
        Err(other) => return Err(other.into()),
    }
    let load = &*Box::leak(Box::new(load));
    let handle = &*Box::leak(Box::new(handle));
    let stack: &'static str = Box::leak(std::env::var("STACK_NAME").unwrap_or_default().into_boxed_str());
    run(service_fn(move |req: Request| async move {
        let started = std::time::Instant::now();
        let (answer, counts) = metrics::counted(async {
            match state.get_or_try_init(load).await {
                Ok(loaded) => handle(loaded, req).await,
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
