//! A partner's webhook receiver on this machine (tests/scripts/webhook_receiver.py): HTTPS under
//! a CA of its own, each delivery checked by the Standard Webhooks reference library under the
//! secrets it was given, and answers
//! chosen by path (`/ok`, `/flaky/N`, `/gone`, `/redirect`, `/hang`, `/garbage`, `/large`).

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use registration::adapters::webhook_https::HostResolver;
use serde_json::Value;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub webhook_id: String,
    pub body: String,
    /// The reference library verified the signature under the endpoint's secret.
    pub verified: bool,
    /// The secrets it verified under, by the order the receiver was given them (`verify_with`).
    pub verified_by: Vec<usize>,
}

pub struct WebhookReceiver {
    /// The host its certificate names, which `resolver()` answers with 127.0.0.1.
    pub host: String,
    pub port: u16,
    /// The CA its certificate chains to, for the poster to trust alone.
    pub ca_pem: String,
    received: Arc<Mutex<Vec<Received>>>,
    secrets_taken: Arc<Mutex<u64>>,
    stdin: ChildStdin,
    child: Child,
}

impl WebhookReceiver {
    /// Starts a receiver for `host` that verifies under `secret` (`whsec_…`).
    pub fn start(host: &str, secret: &str) -> WebhookReceiver {
        let mut receiver = WebhookReceiver::without_secrets(host);
        receiver.verify_with(secret);
        receiver
    }

    /// Starts a receiver for `host` that verifies under no secret yet (`verify_with`).
    pub fn without_secrets(host: &str) -> WebhookReceiver {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let python =
            std::env::var("MOTO_PYTHON").unwrap_or_else(|_| root.join("../.venv/bin/python").display().to_string());
        let mut child = Command::new(python)
            .arg(root.join("scripts/webhook_receiver.py"))
            .arg(host)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the webhook receiver with the virtualenv's python");
        let stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first: Value = serde_json::from_str(&lines.next().expect("the receiver's first line").expect("read"))
            .expect("the receiver's port and CA");
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let secrets_taken: Arc<Mutex<u64>> = Arc::default();
        let (sink, taken) = (received.clone(), secrets_taken.clone());
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let Ok(seen) = serde_json::from_str::<Value>(&line) else { continue };
                if let Some(count) = seen["secrets"].as_u64() {
                    *taken.lock().expect("lock") = count;
                    continue;
                }
                sink.lock().expect("lock").push(Received {
                    path: seen["path"].as_str().unwrap_or_default().to_owned(),
                    webhook_id: seen["headers"]["webhook-id"].as_str().unwrap_or_default().to_owned(),
                    body: seen["body"].as_str().unwrap_or_default().to_owned(),
                    verified: seen["verified"].as_bool().unwrap_or(false),
                    verified_by: seen["verifiedBy"]
                        .as_array()
                        .map(|all| all.iter().filter_map(Value::as_u64).map(|n| n as usize).collect())
                        .unwrap_or_default(),
                });
            }
        });
        WebhookReceiver {
            host: host.to_owned(),
            port: first["port"].as_u64().expect("port") as u16,
            ca_pem: first["ca"].as_str().expect("ca").to_owned(),
            received,
            secrets_taken,
            stdin,
            child,
        }
    }

    /// Adds an endpoint's secret to those deliveries are verified under, once the receiver has it.
    pub fn verify_with(&mut self, secret: &str) {
        let wanted = *self.secrets_taken.lock().expect("lock") + 1;
        writeln!(self.stdin, "{secret}").expect("give the receiver a secret");
        self.stdin.flush().expect("flush");
        for _ in 0..500 {
            if *self.secrets_taken.lock().expect("lock") >= wanted {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the webhook receiver did not take the secret");
    }

    /// The endpoint URL that answers as `path` says.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}:{}{path}", self.host, self.port)
    }

    /// Whether the receiver's process has ended (it prints why on standard error).
    pub fn has_stopped(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// A resolver that answers the receiver's host with `addresses`, counting the lookups.
    pub fn resolver(addresses: &[IpAddr]) -> FixedResolver {
        FixedResolver { addresses: addresses.to_vec(), lookups: Arc::default() }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Answers every host with the same addresses, and counts how often it was asked.
#[derive(Clone)]
pub struct FixedResolver {
    addresses: Vec<IpAddr>,
    pub lookups: Arc<Mutex<u32>>,
}

#[async_trait]
impl HostResolver for FixedResolver {
    async fn resolve(&self, _host: &str, _port: u16) -> Vec<IpAddr> {
        *self.lookups.lock().expect("lock") += 1;
        self.addresses.clone()
    }
}
