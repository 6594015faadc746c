//! A partner's webhook endpoints: where its events go, which of them, how much of a contact detail
//! they carry, and the secret deliveries are signed with. Made, listed and removed with the
//! `partners webhooks` commands; the deliverer reads them.
//!
//! The secret is shown once, when the endpoint is made, and kept only sealed (KMS, under the
//! encryption context `purpose=registration-webhook-secret` and `endpoint=<partner>/<id>`), so a
//! sealed secret copied to another endpoint does not open, and a function granted factor secrets
//! cannot open it.

use crate::domain::email::EmailAddress;
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
    /// The secret a rotation replaced, still signed with until its time is up, so the partner's
    /// receiver keeps verifying while it moves to the new one.
    pub previous_secret: Option<PreviousSecret>,
    pub status: EndpointStatus,
    /// Who the partner wants told when the endpoint is disabled (an email address).
    pub notify: Option<EmailAddress>,
    pub created_at: i64,
    /// When a delivery last succeeded, to the hour (`WebhookEndpoints::delivered`): an endpoint that
    /// answers other events is not disabled for one event it keeps refusing.
    pub last_delivered_at: Option<i64>,
}

/// A replaced secret, sealed as the current one is, and when deliveries stop carrying its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub sealed: String,
    pub until: i64,
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
    #[error("the endpoint's host must be a name of at most 253 characters, without a final dot, or an address")]
    HostName,
    #[error("{0:?} is not an email address to notify")]
    Notify(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the partner asked for.
pub struct NewEndpoint<'a> {
    pub partner_id: &'a str,
    pub url: &'a str,
    pub event_types: &'a [String],
    pub disclosure: Disclosure,
    /// The partner's contact, told when the endpoint is disabled.
    pub notify: Option<&'a str>,
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
    // Checked here, not in `EndpointUrl::parse`, which also reads what is stored: a final dot names
    // the same host as without it (and would pass the one-per-URL check), and DNS names end at 253.
    if url.host().ends_with('.') || url.host().len() > 253 {
        return Err(RegistrationRefused::HostName);
    }
    let notify = new
        .notify
        .map(|address| EmailAddress::parse(address).map_err(|_| RegistrationRefused::Notify(address.to_owned())))
        .transpose()?;
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
        previous_secret: None,
        status: EndpointStatus::Active,
        notify,
        created_at: new.now,
        last_delivered_at: None,
    };
    store.add_endpoint(&endpoint).await?;
    Ok((endpoint, secret))
}

/// The longest overlap: a week. A secret that may have leaked should not sign for longer.
pub const MAX_OVERLAP_SECS: i64 = 7 * 86_400;

/// Why a secret was not rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotationRefused {
    #[error("the overlap is 0 to {} hours", MAX_OVERLAP_SECS / 3600)]
    Overlap,
    #[error("the endpoint was rotated or removed at the same time; list it and run again")]
    Changed,
    /// Another overlap would drop the secret the receiver may still verify with.
    #[error(
        "the last rotation's old secret still signs until {}: wait for it, or rotate with no overlap if a secret leaked",
        crate::domain::utc_time::UtcTime(*.0).rfc3339()
    )]
    InOverlap(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives `endpoint` a new signing secret, returned to be shown once. Deliveries carry the old
/// secret's signature beside the new one's for `overlap_secs` (none when 0: a leaked secret). A
/// second rotation with an overlap during the first's is refused: it would drop the secret the
/// receiver may still verify with (the first rotation's output lost, say); one with no overlap
/// ends both old secrets at once.
pub async fn rotate(
    store: &dyn WebhookEndpoints,
    sealer: &dyn SecretSealer,
    endpoint: &WebhookEndpoint,
    overlap_secs: i64,
    now: i64,
) -> Result<WebhookSecret, RotationRefused> {
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
        return Err(RotationRefused::Overlap);
    }
    if let Some(previous) = &endpoint.previous_secret
        && previous.until > now
        && overlap_secs > 0
    {
        return Err(RotationRefused::InOverlap(previous.until));
    }
    let secret = WebhookSecret::generate();
    let subject = WebhookEndpoint::sealing_subject(&endpoint.partner_id, &endpoint.id);
    let sealed = sealer.seal(&subject, secret.expose().as_bytes()).await?;
    let previous = (overlap_secs > 0)
        .then(|| PreviousSecret { sealed: endpoint.sealed_secret.clone(), until: now + overlap_secs });
    let rotation = SecretRotation { replacing: &endpoint.sealed_secret, sealed: &sealed, previous: previous.as_ref() };
    if !store.rotate_secret(&endpoint.partner_id, &endpoint.id, rotation).await? {
        return Err(RotationRefused::Changed);
    }
    Ok(secret)
}

/// A rotation as the store applies it: only if the endpoint's secret is still `replacing`, so two
/// rotations at once cannot both keep what they read.
pub struct SecretRotation<'a> {
    pub replacing: &'a str,
    pub sealed: &'a str,
    pub previous: Option<&'a PreviousSecret>,
}

/// The secrets a delivery at `now` is signed with: the current one, and the previous one while its
/// overlap lasts.
pub async fn secrets_of(
    sealer: &dyn SecretSealer,
    endpoint: &WebhookEndpoint,
    now: i64,
) -> Result<(WebhookSecret, Option<WebhookSecret>), StoreError> {
    let current = open(sealer, endpoint, &endpoint.sealed_secret).await?;
    let previous = match &endpoint.previous_secret {
        Some(previous) if previous.until > now => Some(open(sealer, endpoint, &previous.sealed).await?),
        _ => None,
    };
    Ok((current, previous))
}

/// The endpoint's signing secret, opened.
pub async fn secret_of(sealer: &dyn SecretSealer, endpoint: &WebhookEndpoint) -> Result<WebhookSecret, StoreError> {
    open(sealer, endpoint, &endpoint.sealed_secret).await
}

async fn open(
    sealer: &dyn SecretSealer,
    endpoint: &WebhookEndpoint,
    sealed: &str,
) -> Result<WebhookSecret, StoreError> {
    let subject = WebhookEndpoint::sealing_subject(&endpoint.partner_id, &endpoint.id);
    let opened = sealer.open(&subject, sealed).await?;
    let text =
        std::str::from_utf8(&opened).map_err(|_| StoreError::Backend("a sealed webhook secret is not text".into()))?;
    WebhookSecret::parse(text).map_err(StoreError::Backend)
}
