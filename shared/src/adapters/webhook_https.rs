//! Posts webhook deliveries over HTTPS, to the addresses checked for them and no other.
//!
//! The host is resolved once per delivery, and every address it gives must be one a delivery may
//! reach (`endpoint::public_addresses`), or nothing is sent. The connection then goes to those
//! addresses: reqwest's resolver is overridden for that one host, so no second lookup can answer
//! differently (DNS rebinding). Redirects are not followed, no proxy is used, the answer's body is
//! never read (a receiver cannot make the deliverer hold a large one), and a receiver has
//! `ANSWER_TIMEOUT` to answer.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::WebhookPoster;
use crate::webhooks::delivery::{ANSWER_TIMEOUT, CONNECT_TIMEOUT, Delivery, Failure, Outcome};
use crate::webhooks::endpoint::{EndpointUrl, is_public, public_addresses};

/// Resolves an endpoint's host: the system's resolver in production, a fixed answer in tests.
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// Every address `host` resolves to; none if it does not resolve.
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr>;
}

pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr> {
        match tokio::net::lookup_host((host, port)).await {
            Ok(found) => found.map(|address| address.ip()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

pub struct HttpsPoster {
    resolver: Box<dyn HostResolver>,
    /// A receiver on this machine (the tests', `make dev`'s), and the one host it answers for.
    local: Option<LocalReceiver>,
    answer_timeout: Duration,
}

/// The one host and port whose deliveries may reach loopback, and the one root trusted for it
/// instead of the Mozilla roots compiled in: its own CA. Every other host, and this host on any
/// other port (the emulator's, the local API's), is posted to as in production.
struct LocalReceiver {
    host: String,
    port: u16,
    root: reqwest::Certificate,
}

impl Default for HttpsPoster {
    fn default() -> Self {
        HttpsPoster::new()
    }
}

impl HttpsPoster {
    /// What production posts with: the system's resolver, public addresses only, the Mozilla roots.
    pub fn new() -> HttpsPoster {
        // reqwest takes rustls' process-wide provider; installing it twice is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        HttpsPoster { resolver: Box::new(SystemResolver), local: None, answer_timeout: ANSWER_TIMEOUT }
    }

    /// Resolves hosts with `resolver` instead of the system's.
    pub fn resolving_with(mut self, resolver: impl HostResolver + 'static) -> HttpsPoster {
        self.resolver = Box::new(resolver);
        self
    }

    /// Lets deliveries to `host` on `port`, and to them alone, reach loopback addresses, trusting
    /// only `ca_pem` for them: a receiver on this machine. Other hosts and ports stay public HTTPS
    /// under the Mozilla roots, so `make dev` reaches both its own receiver and a partner's tunnel,
    /// and no endpoint makes it connect to another local port.
    pub fn for_local_receiver(mut self, host: &str, port: u16, ca_pem: &str) -> Result<HttpsPoster, String> {
        let root = reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| format!("the receiver's CA: {e}"))?;
        self.local = Some(LocalReceiver { host: host.to_ascii_lowercase(), port, root });
        Ok(self)
    }

    /// The local receiver, if `url` is at its host and port.
    fn local_receiver(&self, url: &EndpointUrl) -> Option<&LocalReceiver> {
        self.local.as_ref().filter(|local| local.host.eq_ignore_ascii_case(url.host()) && local.port == url.port())
    }

    /// Gives a receiver `timeout` to answer instead of `ANSWER_TIMEOUT`.
    pub fn answer_within(mut self, timeout: Duration) -> HttpsPoster {
        self.answer_timeout = timeout;
        self
    }

    /// The addresses a delivery to `url` may connect to, of those its host resolved to.
    fn reachable<'a>(&self, url: &EndpointUrl, resolved: &'a [IpAddr]) -> Option<&'a [IpAddr]> {
        if self.local_receiver(url).is_some() {
            let local_or_public = |address: &IpAddr| address.is_loopback() || is_public(*address);
            (!resolved.is_empty() && resolved.iter().all(local_or_public)).then_some(resolved)
        } else {
            public_addresses(resolved).ok()
        }
    }

    /// A client that connects to `url`'s host at `addresses` only.
    fn client(&self, url: &EndpointUrl, addresses: &[SocketAddr]) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(self.answer_timeout)
            .user_agent("registration-webhooks/1")
            .resolve_to_addrs(url.host(), addresses);
        if let Some(local) = self.local_receiver(url) {
            builder = builder.tls_built_in_root_certs(false).add_root_certificate(local.root.clone());
        }
        builder.build()
    }
}

#[async_trait]
impl WebhookPoster for HttpsPoster {
    async fn post(&self, url: &EndpointUrl, delivery: &Delivery) -> Outcome {
        // A lookup that hangs is a host that cannot be reached, within the connection's time.
        let lookup = self.resolver.resolve(url.host(), url.port());
        let resolved = tokio::time::timeout(CONNECT_TIMEOUT, lookup).await.unwrap_or_default();
        let Some(addresses) = self.reachable(url, &resolved) else {
            return Outcome::Failed(Failure::Unreachable);
        };
        let sockets: Vec<SocketAddr> = addresses.iter().map(|ip| SocketAddr::new(*ip, url.port())).collect();
        let Ok(client) = self.client(url, &sockets) else {
            return Outcome::Failed(Failure::Connection);
        };
        let mut request = client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(delivery.body.clone());
        for (name, value) in delivery.headers.pairs() {
            request = request.header(name, value);
        }
        match request.send().await {
            // The status is all that counts; the body is dropped unread.
            Ok(answer) => Outcome::of_status(answer.status().as_u16()),
            Err(error) if error.is_timeout() => Outcome::Failed(Failure::Timeout),
            Err(_) => Outcome::Failed(Failure::Connection),
        }
    }
}
