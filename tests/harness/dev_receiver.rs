//! `make dev`'s partner receiver: the tests' receiver (`webhook_receiver`) at a host of its own,
//! which only `make dev`'s poster resolves, to this machine. A developer points an endpoint at it to
//! watch deliveries arrive, fail (`/flaky/N`), hang (`/hang`) or be refused (`/gone`), each
//! checked by the Standard Webhooks reference library under the endpoint's secret.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use async_trait::async_trait;
use registration::adapters::webhook_https::{HostResolver, HttpsPoster, SystemResolver};
use registration::ports::{PartnerRegistry, SecretSealer, WebhookEndpoints};
use registration::webhooks::endpoints::secrets_of;

use crate::webhook_receiver::WebhookReceiver;

/// The receiver's host. Under example.com, which RFC 2606 reserves, so it is no partner's; whatever
/// public resolvers say of it, `make dev`'s resolver answers it with 127.0.0.1.
pub const DEV_RECEIVER_HOST: &str = "receiver.dev.example.com";

pub struct DevReceiver {
    receiver: WebhookReceiver,
    /// The secrets the receiver verifies under already.
    given: HashSet<String>,
    /// How many deliveries have been reported.
    reported: usize,
    /// Whether its end has been reported.
    stop_reported: bool,
}

impl DevReceiver {
    pub fn start() -> DevReceiver {
        DevReceiver {
            receiver: WebhookReceiver::without_secrets(DEV_RECEIVER_HOST),
            given: HashSet::new(),
            reported: 0,
            stop_reported: false,
        }
    }

    /// Its base URL: an endpoint adds the path that chooses how it answers.
    pub fn url(&self) -> String {
        self.receiver.url("")
    }

    /// The production poster, that also reaches this receiver (and trusts its CA for it alone).
    pub fn poster(&self) -> Result<HttpsPoster, String> {
        let receiver = &self.receiver;
        HttpsPoster::new().resolving_with(DevResolver).for_local_receiver(
            DEV_RECEIVER_HOST,
            receiver.port,
            &receiver.ca_pem,
        )
    }

    /// Gives the receiver the secrets of every endpoint at its host it does not have yet, so it can
    /// verify what it receives as the partner would.
    pub async fn learn_secrets(
        &mut self,
        partners: &dyn PartnerRegistry,
        endpoints: &dyn WebhookEndpoints,
        sealer: &dyn SecretSealer,
        now: i64,
    ) -> Result<(), String> {
        // A receiver that died cannot take secrets (and the harness's would panic trying): say so
        // once; deliveries to it then fail as a dead partner's would.
        if self.receiver.has_stopped() {
            if std::mem::replace(&mut self.stop_reported, true) {
                return Ok(());
            }
            return Err("the local receiver stopped (above); deliveries to it fail until make dev starts again".into());
        }
        for partner in partners.partners().await.map_err(|e| e.to_string())? {
            for endpoint in endpoints.endpoints(&partner.id).await.map_err(|e| e.to_string())? {
                if endpoint.url.host() != DEV_RECEIVER_HOST {
                    continue;
                }
                let (current, previous) = secrets_of(sealer, &endpoint, now).await.map_err(|e| e.to_string())?;
                for secret in std::iter::once(current).chain(previous) {
                    let shown = secret.expose().to_string();
                    if !self.given.contains(&shown) {
                        self.receiver.verify_with(&shown);
                        self.given.insert(shown);
                    }
                }
            }
        }
        Ok(())
    }

    /// One line for each delivery received since the last call: path, webhook-id, event type,
    /// whether the reference library verified it under a secret of an endpoint at this host
    /// (`verified=yes`), and the body.
    pub fn new_deliveries(&mut self) -> Vec<String> {
        let received = self.receiver.received();
        let lines = received[self.reported.min(received.len())..]
            .iter()
            .map(|seen| {
                let kind = serde_json::from_str::<serde_json::Value>(&seen.body)
                    .ok()
                    .and_then(|body| body["type"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let verified = if seen.verified { "verified=yes" } else { "verified=NO" };
                format!("receiver: {} {} {kind} {verified} {}", seen.path, seen.webhook_id, seen.body)
            })
            .collect();
        self.reported = received.len();
        lines
    }
}

/// The receiver's host to this machine; every other host to the system's resolver.
struct DevResolver;

#[async_trait]
impl HostResolver for DevResolver {
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr> {
        if host.eq_ignore_ascii_case(DEV_RECEIVER_HOST) {
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        } else {
            SystemResolver.resolve(host, port).await
        }
    }
}
