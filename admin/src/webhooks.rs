//! `partners webhooks …`: a partner's endpoints, made with a secret shown once and kept sealed.

use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::factor_sealer::KmsSecretSealer;
use registration::domain::utc_time::UtcTime;
use registration::ports::{StoreError, WebhookEndpoints};
use registration::webhooks::endpoints::{EndpointStatus, NewEndpoint, RegistrationRefused, WebhookEndpoint, register};
use registration::webhooks::event::Disclosure;

use crate::cli::WebhooksCommand;

/// A message for the operator, or a store failure to explain.
type Failure = Result<String, StoreError>;

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
            let new = NewEndpoint { partner_id, url: &args.url, event_types: &args.events, disclosure, now };
            match register(store, &sealer, new).await {
                Ok((endpoint, secret)) => Ok(format!(
                    "{}\nsigning secret (shown once; verify deliveries with it): {}\n",
                    line(&endpoint),
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
            Ok(endpoints.iter().map(|endpoint| line(endpoint) + "\n").collect())
        }
        WebhooksCommand::Remove { endpoint, .. } => match store.remove_endpoint(partner_id, &endpoint).await {
            Ok(true) => Ok(format!("removed {endpoint}\n")),
            Ok(false) => Err(Ok(format!("partner {partner_id} has no endpoint {endpoint} (partners webhooks list)"))),
            Err(err) => Err(Err(err)),
        },
    }
}

/// One endpoint on one line, never its secret.
fn line(endpoint: &WebhookEndpoint) -> String {
    let events =
        if endpoint.event_types.is_empty() { "every event".to_owned() } else { endpoint.event_types.join(",") };
    let contact = match endpoint.disclosure {
        Disclosure::Masked => "contact masked",
        Disclosure::Full => "contact in full",
    };
    let status = match &endpoint.status {
        EndpointStatus::Active => "active".to_owned(),
        EndpointStatus::Disabled { reason, at } => format!("disabled {} ({reason})", UtcTime(*at).rfc3339()),
    };
    format!(
        "{}  {}  {events}  {contact}  {status}  made {}",
        endpoint.id,
        endpoint.url.as_str(),
        UtcTime(endpoint.created_at).rfc3339()
    )
}
