//! A partner's webhook endpoints: where its events go, which of them, how much of a contact detail
//! they carry, and the secret deliveries are signed with. Made, listed and removed with the
//! `partners webhooks` commands; the deliverer reads them.
//!
//! The secret is shown once, when the endpoint is made, and kept only sealed (KMS, under the
//! encryption context `purpose=registration-webhook-secret` and `endpoint=<partner>/<id>`), so a
//! sealed secret copied to another endpoint does not open, and a function granted factor secrets
//! cannot open it.

use crate::ports::{SecretSealer, StoreError, WebhookEndpoints};
use crate::security::random;
use crate::webhooks::endpoint::{EndpointRefused, EndpointUrl};
use crate::webhooks::event::{AccountEvent, Disclosure};
use crate::webhooks::signature::WebhookSecret;

/// Endpoints a partner may have: each event is posted to each of them.
pub const MAX_ENDPOINTS: usize = 10;

/// One endpoint of a partner, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// `we_` and 24 random hex digits: what the partner quotes to remove or rotate it.
    pub id: String,
    pub partner_id: String,
    pub url: EndpointUrl,
    pub disclosure: Disclosure,
    /// The event types it receives; empty for every type (new types included).
    pub event_types: Vec<String>,
    /// The signing secret, sealed.
    pub sealed_secret: String,
    pub status: EndpointStatus,
    pub created_at: i64,
    /// When a delivery last succeeded, to the hour (`WebhookEndpoints::delivered`): an endpoint that
    /// answers other events is not disabled for one event it keeps refusing.
    pub last_delivered_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointStatus {
    Active,
    /// No longer posted to: the receiver answered `410 Gone`, or kept failing for days; the reason
    /// is the partner's to read.
    Disabled {
        reason: String,
        at: i64,
    },
}

impl WebhookEndpoint {
    /// Whether an event of `kind` goes to this endpoint.
    pub fn receives(&self, kind: &str) -> bool {
        self.status == EndpointStatus::Active
            && (self.event_types.is_empty() || self.event_types.iter().any(|t| t == kind))
    }

    /// The encryption-context subject its secret is sealed for.
    pub fn sealing_subject(partner_id: &str, id: &str) -> String {
        format!("{partner_id}/{id}")
    }
}

/// Why an endpoint was not made.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationRefused {
    #[error(transparent)]
    Url(#[from] EndpointRefused),
    #[error("unknown event type {0:?}; the types are: {types}", types = AccountEvent::TYPES.join(", "))]
    UnknownEventType(String),
    #[error("a partner has at most {MAX_ENDPOINTS} endpoints; remove one first")]
    TooMany,
    #[error("this partner already has an endpoint at that URL")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the partner asked for.
pub struct NewEndpoint<'a> {
    pub partner_id: &'a str,
    pub url: &'a str,
    pub event_types: &'a [String],
    pub disclosure: Disclosure,
    pub now: i64,
}

/// Makes an endpoint: the URL and types checked, a new secret sealed and kept. The secret is
/// returned to be shown once; nothing else ever shows it.
pub async fn register(
    store: &dyn WebhookEndpoints,
    sealer: &dyn SecretSealer,
    new: NewEndpoint<'_>,
) -> Result<(WebhookEndpoint, WebhookSecret), RegistrationRefused> {
    let url = EndpointUrl::parse(new.url)?;
    let mut event_types = Vec::new();
    for kind in new.event_types {
        if !AccountEvent::TYPES.contains(&kind.as_str()) {
            return Err(RegistrationRefused::UnknownEventType(kind.clone()));
        }
        if !event_types.contains(kind) {
            event_types.push(kind.clone());
        }
    }
    let existing = store.endpoints(new.partner_id).await?;
    if existing.iter().any(|endpoint| endpoint.url == url) {
        return Err(RegistrationRefused::Duplicate);
    }
    if existing.len() >= MAX_ENDPOINTS {
        return Err(RegistrationRefused::TooMany);
    }
    let id = format!("we_{}", random::hex(&random::bytes::<12>()));
    let secret = WebhookSecret::generate();
    let sealed_secret =
        sealer.seal(&WebhookEndpoint::sealing_subject(new.partner_id, &id), secret.expose().as_bytes()).await?;
    let endpoint = WebhookEndpoint {
        id,
        partner_id: new.partner_id.to_owned(),
        url,
        disclosure: new.disclosure,
        event_types,
        sealed_secret,
        status: EndpointStatus::Active,
        created_at: new.now,
        last_delivered_at: None,
    };
    store.add_endpoint(&endpoint).await?;
    Ok((endpoint, secret))
}

/// The endpoint's signing secret, opened for a delivery.
pub async fn secret_of(sealer: &dyn SecretSealer, endpoint: &WebhookEndpoint) -> Result<WebhookSecret, StoreError> {
    let subject = WebhookEndpoint::sealing_subject(&endpoint.partner_id, &endpoint.id);
    let opened = sealer.open(&subject, &endpoint.sealed_secret).await?;
    let text =
        std::str::from_utf8(&opened).map_err(|_| StoreError::Backend("a sealed webhook secret is not text".into()))?;
    WebhookSecret::parse(text).map_err(StoreError::Backend)
}
