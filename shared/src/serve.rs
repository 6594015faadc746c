//! Running a function: what its handler needs is built once per cold start, starting at init but
//! not holding init back. The load (configuration, and the AWS reads some functions make: the
//! pepper, the origin secret behind CloudFront, the sealed signing key) runs as a background task
//! from the moment the process starts; the runtime meanwhile fetches the first event, and the first
//! request waits only for what is still loading. Every request waits for the load to finish, so
//! none is served without its pepper (the known and unknown paths of a request wait alike).
//!
//! A configuration error stops the function (exit 1, as a failed init would: Lambda starts a new
//! environment; found by a request, after answering it). If AWS cannot be reached, the function
//! stays up: requests answer the 503 `UNAVAILABLE` envelope and the load is tried again, at most
//! once a second (`RETRY_INTERVAL`), until it succeeds. Otherwise the callers would get API
//! Gateway's bare 5xx.
//!
//! On AWS, work moved out of init runs in the invoke phase, whose CPU share follows the memory
//! setting; the first request after a cold start (`make bench`, docs/bench.md) is the figure that
//! counts, not init alone.
//!
//! With provisioned concurrency an environment can be frozen between init and its first request
//! with the read in flight; the request then waits for that read to finish or fail (bounded by
//! `call_limits`), and a failed one is tried again in that request.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        // A failure here is not marked in `failed`: the first request tries once more itself.
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
    let failed: &'static Mutex<Option<Instant>> = Box::leak(Box::new(Mutex::new(None)));
    let stack: &'static str = Box::leak(std::env::var("STACK_NAME").unwrap_or_default().into_boxed_str());
    run(service_fn(move |mut req: Request| async move {
        let started = std::time::Instant::now();
        let (answer, counts) = metrics::counted(async {
            match loaded(state, load_all, failed).await {
                Ok((loaded, guard)) => match guard.admit(&mut req) {
                    Ok(()) => handle(loaded, req).await,
                    Err(refused) => finish(endpoint, &req, Err(refused)),
                },
                Err(ConfigError::Unreadable(why)) => {
                    tracing::warn!(endpoint, error = %why, "AWS still unreachable");
                    finish(endpoint, &req, Err(ApiError::Unavailable))
                }
                Err(other) => {
                    // As at init: this environment cannot serve. Answer, then stop it.
                    tracing::error!(endpoint, error = %other, "configuration error; stopping");
                    tokio::spawn(async {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        std::process::exit(1);
                    });
                    finish(endpoint, &req, Err(ApiError::Internal(other.to_string())))
                }
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

/// After a failed load, requests within this interval answer 503 without trying again, so an AWS
/// that is down is asked at most once a second per environment, however many requests come (a flood
/// of requests that the edge guard would refuse included: the guard needs the load first).
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// What the requests are served with: loaded already, or loaded now (waiting for the background
/// load if it is under way), unless the last attempt failed less than `RETRY_INTERVAL` ago.
async fn loaded<T, L, LF>(
    state: &'static OnceCell<T>,
    load: L,
    failed: &Mutex<Option<Instant>>,
) -> Result<&'static T, ConfigError>
where
    L: FnOnce() -> LF,
    LF: Future<Output = Result<T, ConfigError>>,
{
    if let Some(loaded) = state.get() {
        return Ok(loaded);
    }
    let last = *failed.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|at| at.elapsed() < RETRY_INTERVAL) {
        return Err(ConfigError::Unreadable("the last load failed less than a second ago".into()));
    }
    let result = state.get_or_try_init(load).await;
    if result.is_err() {
        *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
    result
}

/// Runs an event-source function (the table's stream, a queue): `handle` on what `load` built once
/// at init, for each batch Lambda gives. A failed load fails init: Lambda gives the batch to a new
/// environment later, and nothing is lost (the stream and the queue keep it).
pub async fn serve_events<S, E, R, L, LF, H, HF>(function: &'static str, load: L, handle: H) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    L: Fn() -> LF,
    LF: Future<Output = Result<S, ConfigError>>,
    H: Fn(&'static S, E) -> HF + Send + Sync + 'static,
    HF: Future<Output = R> + Send,
{
    let state: &'static S = match load().await {
        Ok(state) => Box::leak(Box::new(state)),
        Err(error) => {
            tracing::error!(function, %error, "could not load; init fails");
            return Err(error.to_string().into());
        }
    };
    let handle = &*Box::leak(Box::new(handle));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(move |event: lambda_http::LambdaEvent<E>| async move {
        Ok::<R, Error>(handle(state, event.payload).await)
    }))
    .await
}
