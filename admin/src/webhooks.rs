//! `partners webhooks …`: a partner's endpoints, made with a secret shown once and kept sealed.

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::factor_sealer::KmsSecretSealer;
use registration::adapters::sqs::SqsDeliveryQueue;
use registration::domain::email::EmailAddress;
use registration::domain::utc_time::UtcTime;
use registration::ports::{DeliveryLog, DeliveryQueue, StoreError, WebhookEndpoints};
use registration::webhooks::delivery_log::DeliveryAttempt;
use registration::webhooks::endpoints::{
    EndpointStatus, NewEndpoint, RegistrationRefused, RotationRefused, WebhookEndpoint, register, rotate,
};
use registration::webhooks::event::{Disclosure, EventId};
use registration::webhooks::replay::{Events, ReplayRefused, replay};
use registration::webhooks::test_event::test_task;

use crate::cli::{WebhookReplayArgs, WebhookRotateArgs, WebhooksCommand};

/// A message for the operator, or a store failure to explain.
pub type Failure = Result<String, StoreError>;

pub async fn run(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    partner_id: &str,
    command: WebhooksCommand,
    now: i64,
) -> Result<String, Failure> {
    match command {
        WebhooksCommand::Add(args) => {
            let sealer = KmsSecretSealer::for_webhooks(aws_sdk_kms::Client::new(sdk), &args.factor_key);
            let disclosure = if args.full_contact { Disclosure::Full } else { Disclosure::Masked };
            let new = NewEndpoint {
                partner_id,
                url: &args.url,
                event_types: &args.events,
                disclosure,
                notify: Some(&args.notify),
                now,
            };
            match register(store, &sealer, new).await {
                Ok((endpoint, secret)) => Ok(format!(
                    "{}\nsigning secret (shown once; verify deliveries with it): {}\n",
                    line(&endpoint, now),
                    secret.expose().as_str()
                )),
                Err(RegistrationRefused::Store(err)) => Err(Err(err)),
                Err(refused) => Err(Ok(refused.to_string())),
            }
        }
        WebhooksCommand::List { .. } => {
            let endpoints = store.endpoints(partner_id).await.map_err(Err)?;
            if endpoints.is_empty() {
                return Ok(format!("partner {partner_id} has no webhook endpoint (partners webhooks add)\n"));
            }
            Ok(endpoints.iter().map(|endpoint| line(endpoint, now) + "\n").collect())
        }
        WebhooksCommand::Remove { endpoint, .. } => match store.remove_endpoint(partner_id, &endpoint).await {
            Ok(true) => Ok(format!("removed {endpoint}\n")),
            Ok(false) => Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)"))),
            Err(err) => Err(Err(err)),
        },
        WebhooksCommand::RotateSecret(args) => rotate_secret(sdk, store, partner_id, args, now).await,
        WebhooksCommand::Enable { endpoint, .. } => match store.enable_endpoint(partner_id, &endpoint).await {
            Ok(true) => Ok(format!(
                "enabled {endpoint}: new events are posted to it; what was given up while it was disabled is \
not (partners webhooks replay {partner_id} --endpoint {endpoint} --since <when it failed>)\n"
            )),
            Ok(false) => {
                Err(Ok(format!("partner {partner_id} has no disabled endpoint {endpoint} (partners webhooks list)")))
            }
            Err(err) => Err(Err(err)),
        },
        WebhooksCommand::Disable { endpoint, reason, .. } => {
            // One line `list` shows as written: no control character can forge another row.
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
                return Err(Ok(
                    "say why (--reason) in one line of at most 200 characters: partners webhooks list shows it"
                        .to_owned(),
                ));
            }
            let Some(found) = store.endpoint(partner_id, &endpoint).await.map_err(Err)? else {
                return Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)")));
            };
            // What it missed: from an hour before its last delivery noted (written at most hourly),
            // or from when it was made.
            let since = found.last_delivered_at.map_or(found.created_at, |at| at - 3600);
            let reason = format!("disabled by the operator: {reason}");
            match store.disable_endpoint(partner_id, &endpoint, &reason, now).await {
                Ok(true) => Ok(format!(
                    "disabled {endpoint}: its queued deliveries are dropped as they come up. Once it works:\n  \
partners webhooks enable {partner_id} {endpoint}\n  \
partners webhooks replay {partner_id} --endpoint {endpoint} --since {} --queue-url <WebhookDeliveryQueueUrl>\n",
                    UtcTime(since).rfc3339()
                )),
                Ok(false) => {
                    Err(Ok(format!("partner {partner_id} has no active endpoint {endpoint} (partners webhooks list)")))
                }
                Err(err) => Err(Err(err)),
            }
        }
        WebhooksCommand::Notify { endpoint, email, .. } => {
            let contact = EmailAddress::parse(&email).map_err(|_| Ok(format!("{email:?} is not an email address")))?;
            match store.set_notify(partner_id, &endpoint, &contact).await {
                Ok(true) => Ok(format!("{endpoint} tells {} if disabled\n", contact.as_str())),
                Ok(false) => {
                    Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)")))
                }
                Err(err) => Err(Err(err)),
            }
        }
        WebhooksCommand::Replay(args) => replay_events(sdk, store, partner_id, args, now).await,
        WebhooksCommand::Test { endpoint, queue_url, .. } => {
            let queue = SqsDeliveryQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url);
            send_test(store, &queue, partner_id, &endpoint, now, std::time::Duration::from_secs(30)).await
        }
        WebhooksCommand::Log { endpoint, limit, .. } => {
            if store.endpoint(partner_id, &endpoint).await.map_err(Err)?.is_none() {
                return Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)")));
            }
            let attempts = store.attempts(partner_id, &endpoint, usize::from(limit)).await.map_err(Err)?;
            if attempts.is_empty() {
                return Ok(format!("no delivery to {endpoint} in the last 30 days\n"));
            }
            Ok(attempts.iter().map(|attempt| log_line(attempt) + "\n").collect())
        }
    }
}

async fn rotate_secret(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    partner_id: &str,
    args: WebhookRotateArgs,
    now: i64,
) -> Result<String, Failure> {
    let Some(endpoint) = store.endpoint(partner_id, &args.endpoint).await.map_err(Err)? else {
        return Err(Ok(format!("partner {partner_id} has no endpoint {} (partners webhooks list)", args.endpoint)));
    };
    let sealer = KmsSecretSealer::for_webhooks(aws_sdk_kms::Client::new(sdk), &args.factor_key);
    match rotate(store, &sealer, &endpoint, args.overlap_hours.saturating_mul(3600), now).await {
        Ok(secret) => {
            let overlap = if args.overlap_hours == 0 {
                "the old secret no longer signs".to_owned()
            } else {
                format!("the old secret also signs until {}", UtcTime(now + args.overlap_hours * 3600).rfc3339())
            };
            Ok(format!("{}\nnew signing secret (shown once): {}\n{overlap}\n", endpoint.id, secret.expose().as_str()))
        }
        Err(RotationRefused::Store(err)) => Err(Err(err)),
        Err(refused) => Err(Ok(refused.to_string())),
    }
}

async fn replay_events(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    partner_id: &str,
    args: WebhookReplayArgs,
    now: i64,
) -> Result<String, Failure> {
    let which = match (&args.event, &args.since) {
        (Some(event), _) => Events::One(
            EventId::parse(event)
                .ok_or_else(|| Ok(format!("{event:?} is not an event id (evt_ and 26 characters)")))?,
        ),
        (None, Some(since)) => {
            let until = args.until.as_deref().map(unix_ms).transpose().map_err(Ok)?;
            let now_ms = u64::try_from(now).unwrap_or(0) * 1000 + 999;
            let from_ms = unix_ms(since).map_err(Ok)?;
            if from_ms > now_ms {
                return Err(Ok(format!("--since {since} is in the future: no event is that new yet")));
            }
            Events::Range { from_ms, to_ms: until.unwrap_or(now_ms) }
        }
        (None, None) => return Err(Ok("name --event or --since".to_owned())),
    };
    let queue = SqsDeliveryQueue::new(aws_sdk_sqs::Client::new(sdk), args.queue_url);
    match replay(store, store, &queue, partner_id, which, args.endpoint.as_deref(), now).await {
        Ok(done) if done.events == 0 => Ok("nothing queued: the partner has no event in that range\n".to_owned()),
        Ok(done) if done.tasks == 0 => Ok(format!(
            "nothing queued: {} events, and no active endpoint that takes them (partners webhooks list)\n",
            done.events
        )),
        Ok(done) => Ok(format!(
            "queued {} deliveries of {} events (replay {}); `partners webhooks log` shows them arrive\n",
            done.tasks, done.events, done.nonce
        )),
        Err(ReplayRefused::Store(err)) => Err(Err(err)),
        Err(refused) => Err(Ok(refused.to_string())),
    }
}

/// Queues a test event for `endpoint` and waits up to `patience` for its answer in the delivery log.
pub async fn send_test(
    store: &DynamoStore,
    queue: &dyn DeliveryQueue,
    partner_id: &str,
    endpoint: &str,
    now: i64,
    patience: std::time::Duration,
) -> Result<String, Failure> {
    if store.endpoint(partner_id, endpoint).await.map_err(Err)?.is_none() {
        return Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)")));
    }
    let task = test_task(partner_id, endpoint, u64::try_from(now).unwrap_or(0) * 1000);
    queue.enqueue(std::slice::from_ref(&task)).await.map_err(|err| Ok(err.to_string()))?;
    let started = std::time::Instant::now();
    while started.elapsed() < patience {
        // The test's entry is among the newest; a busy endpoint logs many a second.
        let attempts = store.attempts(partner_id, endpoint, 500).await.map_err(Err)?;
        if let Some(answered) = attempts.iter().find(|attempt| attempt.event_id == task.event_id) {
            return Ok(log_line(answered) + "\n");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Ok(format!(
        "queued test {} for {endpoint}; no answer logged within {} s (the deliverer may be busy): \
partners webhooks log {partner_id} {endpoint}\n",
        task.event_id,
        patience.as_secs()
    ))
}

/// An RFC 3339 time as Unix milliseconds.
fn unix_ms(text: &str) -> Result<u64, String> {
    let time = DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset)
        .map_err(|_| format!("{text:?} is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)"))?;
    let ms = time.to_millis().map_err(|_| format!("{text:?} is out of range"))?;
    u64::try_from(ms).map_err(|_| format!("{text:?} is before 1970"))
}

/// One attempt on one line.
fn log_line(attempt: &DeliveryAttempt) -> String {
    format!(
        "{}  {}  {}  attempt {}  {}  {}",
        UtcTime(attempt.at).rfc3339(),
        attempt.event_id,
        attempt.event_type,
        attempt.attempt,
        attempt.answer,
        attempt.then
    )
}

/// One endpoint on one line at `now`, never its secret.
fn line(endpoint: &WebhookEndpoint, now: i64) -> String {
    let events =
        if endpoint.event_types.is_empty() { "every event".to_owned() } else { endpoint.event_types.join(",") };
    let contact = match endpoint.disclosure {
        Disclosure::Masked => "contact masked",
        Disclosure::Full => "contact in full",
    };
    let rotation = match &endpoint.previous_secret {
        Some(previous) if previous.until > now => {
            format!("  old secret signs until {}", UtcTime(previous.until).rfc3339())
        }
        _ => String::new(),
    };
    let notify = match &endpoint.notify {
        Some(contact) => format!("tells {} if disabled", contact.as_str()),
        None => "tells nobody if disabled".to_owned(),
    };
    let status = match &endpoint.status {
        EndpointStatus::Active => "active".to_owned(),
        EndpointStatus::Disabled { reason, at } => format!("disabled {} ({reason})", UtcTime(*at).rfc3339()),
    };
    format!(
        "{}  {}  {events}  {contact}  {status}  {notify}  made {}{rotation}",
        endpoint.id,
        endpoint.url.as_str(),
        UtcTime(endpoint.created_at).rfc3339()
    )
}
