//! `make dev`'s webhook pipeline: `devstack webhooks` run as scripts/dev.sh runs it, as a process of
//! its own, on a test's table, delivering to its local receiver.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::dev_receiver::DEV_RECEIVER_HOST;
use e2e::{MERCHANT, TestEnv};
use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::factor_sealer::KmsSecretSealer;
use registration::ports::WebhookEndpoints;
use registration::webhooks::endpoints::{EndpointStatus, NewEndpoint, WebhookEndpoint, register};
use registration::webhooks::event::Disclosure;

use crate::concurrency::phone_account;

/// The `devstack webhooks` process, and every line it printed so far.
struct DevPipeline {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl DevPipeline {
    fn start(env: &TestEnv) -> DevPipeline {
        let mut child = Command::new(env!("CARGO_BIN_EXE_devstack"))
            .arg("webhooks")
            .env("AWS_ENDPOINT_URL", env.moto.endpoint())
            .env("AWS_REGION", e2e::moto::REGION)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("TABLE_NAME", &env.table)
            .env("FACTOR_KEY_ARN", &env.factor_key)
            .env("SES_SENDER", e2e::EMAIL_SENDER)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            stdout.lines().map_while(Result::ok).for_each(|line| sink.lock().unwrap().push(line))
        });
        DevPipeline { child, lines }
    }

    /// The first line `wanted` accepts, waiting up to a minute for it.
    async fn line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|line| wanted(line)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "devstack printed no such line: {:#?}", self.lines.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for DevPipeline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn endpoint(env: &TestEnv, url: &str) -> WebhookEndpoint {
    let store = DynamoStore::new(env.dynamodb.clone(), env.table.clone());
    let sealer = KmsSecretSealer::for_webhooks(env.kms.clone(), &env.factor_key);
    let new = NewEndpoint {
        partner_id: MERCHANT,
        url,
        event_types: &[],
        disclosure: Disclosure::Masked,
        // Its own: moto's SES record is shared by the suite, and other tests count theirs.
        notify: Some("dev-webhooks@partner-one.example.com"),
        now: 1_765_000_000,
    };
    register(&store, &sealer, new).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_devs_pipeline_delivers_to_its_local_receiver_signed_and_a_410_disables_the_endpoint() {
    // GIVEN make dev's pipeline on a table, and endpoints at its local receiver that answer 200 and 410
    let env = TestEnv::new().await;
    let dev = DevPipeline::start(&env);
    let base = dev.line(|line| line.starts_with("WEBHOOK_RECEIVER=")).await;
    let base = base.trim_start_matches("WEBHOOK_RECEIVER=");
    assert!(base.starts_with(&format!("https://{DEV_RECEIVER_HOST}:")), "{base}");
    let ok = endpoint(&env, &format!("{base}/ok")).await;
    let gone = endpoint(&env, &format!("{base}/gone")).await;
    // WHEN a user signs up
    let (_, _, user_id) = phone_account(&env, &mut HashSet::new()).await;
    // THEN the receiver gets the account's creation at /ok, verified by the Standard Webhooks
    // reference library under the endpoint's secret
    let delivered = dev.line(|line| line.starts_with("receiver: /ok ") && line.contains("account.created")).await;
    assert!(delivered.contains(" verified=yes ") && delivered.contains(&user_id), "{delivered}");
    // AND the endpoint that answered 410 is disabled, the other still active
    let store = DynamoStore::new(env.dynamodb.clone(), env.table.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.endpoint(MERCHANT, &gone.id).await.unwrap().unwrap().status == EndpointStatus::Active {
        assert!(Instant::now() < deadline, "the endpoint that answered 410 is still active");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(matches!(
        store.endpoint(MERCHANT, &gone.id).await.unwrap().unwrap().status,
        EndpointStatus::Disabled { .. }
    ));
    assert_eq!(store.endpoint(MERCHANT, &ok.id).await.unwrap().unwrap().status, EndpointStatus::Active);
}
