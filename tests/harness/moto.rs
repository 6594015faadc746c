//! One moto server per test process, on a free port, started by the harness and stopped with it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::Value;

pub const REGION: &str = "eu-west-1";

pub struct Moto {
    port: u16,
}

static SHARED: OnceLock<Moto> = OnceLock::new();

/// The command that starts moto: `scripts/moto_server.py` (moto with each DynamoDB request isolated;
/// the script says why) on `MOTO_PYTHON`, else the project virtualenv's Python (`make test` installs
/// it), else `python3`. `MOTO_SERVER` runs that moto_server executable instead, unpatched.
fn moto_command() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return format!("'{path}'");
    }
    let python = std::env::var("MOTO_PYTHON").map(PathBuf::from).unwrap_or_else(|_| {
        let venv = root.join(".venv/bin/python");
        if venv.exists() { venv } else { PathBuf::from("python3") }
    });
    format!("'{}' '{}'", python.display(), root.join("scripts/moto_server.py").display())
}

impl Moto {
    pub async fn shared() -> &'static Moto {
        SHARED.get_or_init(Moto::start)
    }

    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let command = moto_command();
        // A watchdog shell: moto goes when this test process goes, however it ends.
        let script = format!(
            "{command} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
            parent = std::process::id()
        );
        // Never waited on: the watchdog outlives every test and exits after this process does.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command} ({e}); run `make test`, which installs it"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on port {port}; is it installed? ({command})");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration for moto: static dummy credentials, a fixed region.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            // Every call a handler makes is recorded as the IAM actions AWS would check.
            .http_client(crate::aws_calls::RecordingClient::wrapping(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .build_https(),
            ))
            .load()
            .await
    }

    /// moto's record of what `service` (`sns`, `ses`) was sent. Only that service's: moto's whole
    /// record holds every item the suite ever wrote, and reading it for each code made the suite
    /// slow down quadratically (scripts/moto_server.py serves the narrower answer).
    /// moto builds this from live state, and a request changing that state meanwhile can make it
    /// fail; a few tries make the read reliable under parallel tests.
    pub async fn data(&self, service: &str) -> Value {
        let url = format!("{}/moto-api/data.json?service={service}", self.endpoint());
        let mut last = String::new();
        for _ in 0..5 {
            match reqwest::get(&url).await {
                Ok(response) => match response.text().await {
                    Ok(text) => match serde_json::from_str(&text) {
                        Ok(value) => return value,
                        Err(e) => last = format!("not JSON ({e}): {}", text.chars().take(200).collect::<String>()),
                    },
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("moto's data.json failed five times: {last}");
    }

    /// The SMS texts sent to `phone`, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Vec<String> {
        let data = self.data("sns").await;
        data["sns"]["SMS"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|sms| sms["phone_number"] == phone)
                    .filter_map(|sms| sms["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
