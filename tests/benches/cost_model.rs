//! `make bench-cost`: what each user flow consumes, measured on the real handlers against moto, and
//! what a partner's month costs. Every DynamoDB request goes through an interceptor on the SDK
//! client that asks for `ReturnConsumedCapacity` and also prices the request by DynamoDB's own
//! rules (on-demand: 1 write unit per KB written, 2 in a transaction; 0.5 read unit per 4 KB read
//! eventually consistent, 1 strongly consistent, 2 in a transaction), because moto answers
//! `ConsumedCapacity` with a constant per call, not by item size. KMS signatures, SMS and emails are
//! counted at the adapters. Prints a table per flow and the monthly bill (docs/cost.md).

// A failed unwrap here is a failed measurement, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use e2e::{Endpoint, TestEnv, bearer, fresh_phone};
use registration::adapters::dynamodb::DynamoStore;
use registration::admission::directory::PartnerDirectory;
use registration::factors::totp::{Authenticator, TotpSecret};
use registration::ports::Clock;
use serde_json::{Value, json};

const ROUNDS: usize = 20;

/// Units of one flow: by DynamoDB's rules, and as moto reported them.
#[derive(Debug, Default, Clone)]
struct Units {
    write: f64,
    read: f64,
    moto: f64,
    requests: usize,
}

#[derive(Debug, Default)]
struct Meter(Mutex<Units>);

/// What the request half of a call priced, carried to its response in the operation's config bag.
#[derive(Debug, Clone)]
struct Pending {
    operation: String,
    consistent: bool,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

fn kb(value: &Value) -> f64 {
    (value.to_string().len() as f64 / 1024.0).ceil().max(1.0)
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "CostMeter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let mut body: Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())?;
        let mut units = self.0.lock().unwrap();
        units.requests += 1;
        match operation.as_str() {
            "PutItem" => units.write += kb(&body["Item"]),
            "UpdateItem" | "DeleteItem" => units.write += kb(&body["Key"]),
            "BatchWriteItem" => {
                for requests in body["RequestItems"].as_object().into_iter().flat_map(|t| t.values()) {
                    for request in requests.as_array().into_iter().flatten() {
                        units.write += kb(&request["PutRequest"]["Item"]).max(1.0);
                    }
                }
            }
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(put) = item.get("Put") {
                        units.write += 2.0 * kb(&put["Item"]);
                    } else if item.get("ConditionCheck").is_some() {
                        units.read += 2.0;
                    } else {
                        units.write += 2.0;
                    }
                }
            }
            _ => {}
        }
        drop(units);
        let consistent = body["ConsistentRead"].as_bool().unwrap_or(false);
        cfg.interceptor_state().store_put(Pending { operation, consistent });
        if body.get("TableName").is_some() || body.get("TransactItems").is_some() || body.get("RequestItems").is_some()
        {
            body["ReturnConsumedCapacity"] = json!("TOTAL");
            let bytes = serde_json::to_vec(&body)?;
            request.headers_mut().insert("content-length", bytes.len().to_string());
            *request.body_mut() = SdkBody::from(bytes);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(pending) = cfg.load::<Pending>().cloned() else { return Ok(()) };
        let Some(bytes) = context.response().body().bytes() else { return Ok(()) };
        let Ok(body) = serde_json::from_slice::<Value>(bytes) else { return Ok(()) };
        let per_4kb = if pending.consistent { 1.0 } else { 0.5 };
        let mut units = self.0.lock().unwrap();
        match pending.operation.as_str() {
            "GetItem" => units.read += per_4kb * (body["Item"].to_string().len() as f64 / 4096.0).ceil().max(1.0),
            "Query" => {
                let bytes: usize = body["Items"].as_array().into_iter().flatten().map(|i| i.to_string().len()).sum();
                units.read += per_4kb * (bytes as f64 / 4096.0).ceil().max(1.0);
            }
            _ => {}
        }
        let capacity = |c: &Value| c["CapacityUnits"].as_f64().unwrap_or(0.0);
        units.moto += match &body["ConsumedCapacity"] {
            Value::Array(list) => list.iter().map(capacity).sum(),
            object @ Value::Object(_) => capacity(object),
            _ => 0.0,
        };
        Ok(())
    }
}

/// One flow's consumption, averaged over its rounds.
struct Flow {
    name: &'static str,
    units: Units,
    kms: f64,
    /// KMS Decrypt and Encrypt calls (a sealed TOTP secret or recovery key opened, one sealed), one
    /// per second-factor check and per secret an enrolment seals: fixed by the code path, like the
    /// Argon2 runs, not metered.
    decrypts: f64,
    sms: f64,
    emails: f64,
    argon2: f64,
    millis: f64,
}

struct Counters<'a> {
    env: &'a TestEnv,
    meter: &'a Meter,
}

impl Counters<'_> {
    fn snapshot(&self) -> (Units, usize, usize, usize) {
        let units = self.meter.0.lock().unwrap().clone();
        (units, self.env.signer.signs(), self.env.sms.attempts(), self.env.email.attempts())
    }
}

async fn measure<F, Fut>(counters: &Counters<'_>, name: &'static str, argon2: f64, mut round: F) -> Flow
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let before = counters.snapshot();
    let mut elapsed = Duration::ZERO;
    for i in 0..ROUNDS {
        elapsed += round(i).await;
    }
    let after = counters.snapshot();
    let n = ROUNDS as f64;
    let units = Units {
        write: (after.0.write - before.0.write) / n,
        read: (after.0.read - before.0.read) / n,
        moto: (after.0.moto - before.0.moto) / n,
        requests: (after.0.requests - before.0.requests) / ROUNDS,
    };
    Flow {
        name,
        units,
        kms: (after.1 - before.1) as f64 / n,
        decrypts: 0.0,
        sms: (after.2 - before.2) as f64 / n,
        emails: (after.3 - before.3) as f64 / n,
        argon2,
        millis: elapsed.as_secs_f64() * 1000.0 / n,
    }
}

async fn timed<T>(work: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = work.await;
    (out, started.elapsed())
}

#[tokio::main]
async fn main() {
    let mut env = TestEnv::new().await;
    // The same table through a metered client.
    let meter = Arc::new(Meter::default());
    let sdk = env.moto.sdk_config().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(MeterHandle(meter.clone())).build();
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), env.table.clone()));
    env.app.store = store.clone();
    env.app.counters = store.clone();
    env.app.deletions = store.clone();
    env.app.partners = PartnerDirectory::new(store);
    // A warm function keeps its partner cache (5 minutes in production), as here.
    env.app.partners.ttl = Duration::from_secs(300);
    // Every request here comes from one address: the per-IP limits would stop the rounds.
    let limits = &mut env.app.rate_limits;
    (limits.send, limits.verify, limits.refresh, limits.contact) = (1_000_000, 1_000_000, 1_000_000, 1_000_000);
    let env = &env;
    let counters = Counters { env, meter: &meter };
    const PASSWORD: &str = "Harbour-Kestrel-42";

    let phones: Vec<String> = (0..ROUNDS).map(|_| fresh_phone()).collect();
    // A signup hashes the password and verifies it again at confirm: two Argon2 runs.
    let signup = measure(&counters, "signup by phone (signup, SMS, confirm)", 2.0, |i| {
        let phone = phones[i].clone();
        async move {
            let (_, a) = timed(env.signup(json!({ "phone": phone, "password": PASSWORD }))).await;
            let code = env.latest_code(&phone).await;
            let (tokens, b) = timed(env.confirm(&phone, &code)).await;
            assert_eq!(tokens.status, 200, "{:?}", tokens.body);
            a + b
        }
    })
    .await;
    let sign_in = measure(&counters, "sign-in (password grant)", 1.0, |i| {
        let phone = phones[i].clone();
        async move {
            let (answer, took) = timed(env.sign_in(&phone, PASSWORD)).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            took
        }
    })
    .await;
    let mut refresh_tokens = Vec::new();
    for phone in &phones {
        refresh_tokens.push(env.sign_in(phone, PASSWORD).await.body["refresh_token"].as_str().unwrap().to_owned());
    }
    let refresh = measure(&counters, "refresh (token rotation)", 0.0, |i| {
        let token = refresh_tokens[i].clone();
        async move {
            let (answer, took) = timed(env.refresh(&token)).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            took
        }
    })
    .await;
    let mut auths = Vec::new();
    for phone in &phones {
        auths.push(bearer(&env.sign_in(phone, PASSWORD).await));
    }
    let profile = measure(&counters, "profile read (bearer)", 0.0, |i| {
        let auth = auths[i].clone();
        async move {
            let (answer, took) = timed(env.as_user(Endpoint::ProfileGet, &auth, Value::Null)).await;
            assert_eq!(answer.status, 200);
            took
        }
    })
    .await;
    let email = measure(&counters, "email add and confirm (link)", 0.0, |i| {
        let auth = auths[i].clone();
        async move {
            let address = format!("cost.{i}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let (added, a) = timed(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address }))).await;
            assert_eq!(added.status, 200, "{:?}", added.body);
            let link = env.latest_link(&address).await;
            let (opened, b) = timed(env.open_link(&link, true)).await;
            assert_eq!(opened.status, 200, "{:?}", opened.body);
            a + b
        }
    })
    .await;

    // An account with an authenticator (as the enrolment will leave it): the password answers
    // 403 mfa_required, then the app's code completes the sign-in; later, a step-up in the session.
    let mut apps = Vec::new();
    for phone in &phones {
        let user_id = env.sign_in(phone, PASSWORD).await.body["user_id"].as_str().unwrap().to_owned();
        apps.push(env.enrol_factors(user_id.trim_start_matches("usr:"), phone).await.authenticator);
    }
    env.clock.advance(30);
    let mfa_refresh_tokens = Mutex::new(Vec::new());
    let mut mfa_sign_in = measure(&counters, "sign-in with TOTP (password, then code)", 1.0, |i| {
        let (phone, app, tokens) = (phones[i].clone(), &apps[i], &mfa_refresh_tokens);
        async move {
            let (asked, a) = timed(env.sign_in(&phone, PASSWORD)).await;
            assert_eq!(asked.status, 403, "{:?}", asked.body);
            let code = app.code_at(env.clock.now());
            let body = json!({ "grant_type": "mfa", "mfa_token": asked.body["data"]["mfaToken"], "otp": code });
            let (done, b) = timed(env.call(Endpoint::Token, body, &[])).await;
            assert_eq!(done.status, 200, "{:?}", done.body);
            tokens.lock().unwrap().push(done.body["refresh_token"].as_str().unwrap().to_owned());
            a + b
        }
    })
    .await;
    mfa_sign_in.decrypts = 1.0;
    env.clock.advance(30);
    let mfa_refresh_tokens = mfa_refresh_tokens.into_inner().unwrap();
    let mut step_up = measure(&counters, "step-up (refresh token, password and code)", 1.0, |i| {
        let (token, app) = (mfa_refresh_tokens[i].clone(), &apps[i]);
        async move {
            let body = json!({
                "grant_type": "step_up", "refresh_token": token, "password": PASSWORD,
                "otp": app.code_at(env.clock.now()),
            });
            let (answer, took) = timed(env.call(Endpoint::Token, body, &[])).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            took
        }
    })
    .await;
    step_up.decrypts = 1.0;

    // A first enrolment, on accounts without a factor: a code to the phone, the step-up with it and
    // the password, the enrolment and its verification with the app's first code.
    let mut fresh_tokens = Vec::new();
    let fresh_phones: Vec<String> = (0..ROUNDS).map(|_| fresh_phone()).collect();
    for phone in &fresh_phones {
        fresh_tokens.push(env.registered(phone, PASSWORD).await);
    }
    env.wait_out_cooldown();
    let mut enrolment = measure(&counters, "first enrolment (SMS step-up, enrol, verify)", 1.0, |i| {
        let (phone, signed_up) = (fresh_phones[i].clone(), &fresh_tokens[i]);
        async move {
            let (sent, a) = timed(env.as_user(Endpoint::StepUpCode, &bearer(signed_up), Value::Null)).await;
            assert_eq!(sent.status, 200, "{:?}", sent.body);
            let body = json!({
                "grant_type": "step_up", "refresh_token": signed_up.body["refresh_token"], "password": PASSWORD,
                "sms_code": env.latest_code(&phone).await,
            });
            let (raised, b) = timed(env.call(Endpoint::Token, body, &[])).await;
            assert_eq!(raised.status, 200, "{:?}", raised.body);
            let (started, c) = timed(env.as_user(Endpoint::TotpEnrol, &bearer(&raised), Value::Null)).await;
            assert_eq!(started.status, 201, "{:?}", started.body);
            let secret = TotpSecret::from_base32(started.body["secret"].as_str().unwrap()).unwrap();
            let code = Authenticator::new(&secret, "bench", "bench").unwrap().code_at(env.clock.now());
            let verify = json!({ "factorId": started.body["factorId"], "code": code });
            let (verified, d) = timed(env.as_user(Endpoint::TotpVerify, &bearer(&raised), verify)).await;
            assert_eq!(verified.status, 200, "{:?}", verified.body);
            a + b + c + d
        }
    })
    .await;
    // Encrypt the new secret; Decrypt it to check the first code; Encrypt the recovery set's key.
    enrolment.decrypts = 3.0;

    // An account whose factor is codes by SMS (phone-first, with a confirmed address, enrolled
    // through the API): the password answers 403 mfa_required, the app asks for the code with the
    // mfa_token, and the code completes the sign-in.
    let sms_phones: Vec<String> = (0..ROUNDS).map(|_| fresh_phone()).collect();
    let mut sms_emails = Vec::new();
    for (i, phone) in sms_phones.iter().enumerate() {
        let signed_up = env.registered(phone, PASSWORD).await;
        let address = format!("sms.{i}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        assert_eq!(env.as_user(Endpoint::EmailAdd, &bearer(&signed_up), json!({ "email": address })).await.status, 200);
        assert_eq!(env.open_link(&env.latest_link(&address).await, true).await.status, 200);
        sms_emails.push(address);
    }
    env.wait_out_cooldown();
    for phone in &sms_phones {
        let signed_in = env.sign_in(phone, PASSWORD).await;
        assert_eq!(env.as_user(Endpoint::StepUpCode, &bearer(&signed_in), Value::Null).await.status, 200);
        let body = json!({
            "grant_type": "step_up", "refresh_token": signed_in.body["refresh_token"], "password": PASSWORD,
            "sms_code": env.latest_code(phone).await,
        });
        let raised = env.call(Endpoint::Token, body, &[]).await;
        let enrolled = env.as_user(Endpoint::SmsFactorEnrol, &bearer(&raised), Value::Null).await;
        assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
    }
    env.wait_out_cooldown();
    let sms_sign_in = measure(&counters, "sign-in with codes by SMS (password, code sent, code)", 1.0, |i| {
        let address = sms_emails[i].clone();
        let phone = sms_phones[i].clone();
        async move {
            let (asked, a) = timed(env.sign_in(&address, PASSWORD)).await;
            assert_eq!(asked.status, 403, "{:?}", asked.body);
            let token = asked.body["data"]["mfaToken"].as_str().unwrap().to_owned();
            let (sent, b) = timed(env.call(Endpoint::SignInCode, json!({ "mfaToken": token }), &[])).await;
            assert_eq!(sent.status, 200, "{:?}", sent.body);
            let body = json!({ "grant_type": "mfa", "mfa_token": token, "sms_code": env.latest_code(&phone).await });
            let (signed_in, c) = timed(env.call(Endpoint::Token, body, &[])).await;
            assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
            a + b + c
        }
    })
    .await;

    let flows = [signup, sign_in, refresh, profile, email, mfa_sign_in, step_up, enrolment, sms_sign_in];
    println!("\nper flow, averaged over {ROUNDS} rounds (moto; handlers in-process):\n");
    println!(
        "| flow | DynamoDB requests | write units | read units | moto's ConsumedCapacity | KMS Sign | KMS Decrypt, Encrypt | SMS | emails | Argon2 | time on moto |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for f in &flows {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} ms |",
            f.name,
            f.units.requests,
            f.units.write,
            f.units.read,
            f.units.moto,
            f.kms,
            f.decrypts,
            f.sms,
            f.emails,
            f.argon2,
            f.millis
        );
    }
    bill(&flows);
    secrets_cost(env).await;
}

/// What keeping the key in KMS and the pepper in Secrets Manager costs, on moto: the reads at cold
/// start, and a KMS signature against one made in process.
async fn secrets_cost(env: &TestEnv) {
    use registration::App;
    use registration::security::tokens::{SigningKey, Subject};
    let sdk = env.moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = e2e::stack::create_signing_key(&kms).await.unwrap();
    let published = e2e::stack::published_public_key(&kms, &key).await.unwrap();
    let secret =
        e2e::stack::create_pepper_secret(&aws_sdk_secretsmanager::Client::new(&sdk), "cost-pepper").await.unwrap();
    let source = [
        ("TABLE_NAME", env.table.as_str()),
        ("CODE_PEPPER_SECRET_ARN", secret.as_str()),
        ("SIGNING_KEY_ARN", key.as_str()),
        ("TOKEN_PUBLIC_KEYS", published.as_str()),
        ("TOKEN_ISSUER", e2e::ISSUER),
    ];
    let p50 = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2].as_secs_f64() * 1000.0
    };
    let mut pepper = Vec::new();
    let mut public = Vec::new();
    let mut kms_sign = Vec::new();
    let mut local_sign = Vec::new();
    let mut sealed_open = Vec::new();
    let issuer = App::token_issuer(&sdk, &source).await.unwrap();
    // The sealed mode (docs/capacity.md): a key sealed by a symmetric KMS key, opened at cold start.
    let sealing = registration::adapters::kms::create_sealing_key(&kms, "cost sealing").await.unwrap();
    let pkcs8 = SigningKey::generate_pkcs8();
    let sealed_key = SigningKey::from_pkcs8_der("sealed-cost", &pkcs8).unwrap();
    let sealed = registration::adapters::kms::seal_signing_key(&kms, &sealing, "sealed-cost", &pkcs8).await.unwrap();
    let (sealed_param, sealed_public) = (sealed.to_parameter(), sealed_key.public_key_ref().to_parameter());
    let sealed_source = [
        ("SIGNING_KEY_ARN", sealing.as_str()),
        ("SEALED_SIGNING_KEY", sealed_param.as_str()),
        ("TOKEN_PUBLIC_KEYS", sealed_public.as_str()),
        ("TOKEN_ISSUER", e2e::ISSUER),
    ];
    let local = App::token_issuer(&sdk, &sealed_source).await.unwrap();
    let subject = Subject {
        user_id: "u",
        merchant_id: "m",
        session_id: "s",
        sandbox: false,
        assurance: &registration::factors::assurance::Assurance::password(0),
    };
    for _ in 0..ROUNDS {
        pepper.push(timed(App::config(&sdk, &source)).await.1);
        public.push(timed(registration::adapters::kms::public_key(&kms, &key)).await.1);
        kms_sign.push(timed(issuer.access_token(&subject, 1_800_000_000)).await.1);
        local_sign.push(timed(local.access_token(&subject, 1_800_000_000)).await.1);
        sealed_open.push(timed(App::token_issuer(&sdk, &sealed_source)).await.1);
    }
    println!("\nkeys and secrets on moto, p50 of {ROUNDS}:");
    println!(
        "  cold start: GetSecretValue (pepper) {:.1} ms; GetPublicKey (one key, now read by `keys` at rotation, not at cold start) {:.1} ms",
        p50(pepper),
        p50(public)
    );
    println!(
        "  per token: KMS Sign {:.1} ms, against {:.2} ms signing in process (the sealed mode)",
        p50(kms_sign),
        p50(local_sign)
    );
    println!("  sealed mode at cold start: kms:Decrypt and opening the key {:.1} ms", p50(sealed_open));
}

/// The interceptor is shared by the client; the meter is read by the bench.
#[derive(Debug)]
struct MeterHandle(Arc<Meter>);

impl Intercept for MeterHandle {
    fn name(&self) -> &'static str {
        "CostMeter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.modify_before_signing(context, components, cfg)
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_after_deserialization(context, components, cfg)
    }
}

// Prices (us-east-1 / eu-west-1 list prices; docs/cost.md gives the sources and date).
const WRITE_UNIT: f64 = 0.625 / 1e6;
const READ_UNIT: f64 = 0.125 / 1e6;
const KMS_REQUEST: f64 = 0.15 / 1e4; // the higher of the published asymmetric rates
const SMS: f64 = 0.0395; // to a UK number; varies by country
const EMAIL: f64 = 0.10 / 1e3;
const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
const LOG_GB: f64 = 0.50;
/// One Argon2id (m=19 MiB, t=2) on a whole vCPU (docs/bench.md); Lambda gives a whole vCPU at 1,769 MB.
const ARGON2_MS_ONE_VCPU: f64 = 15.1;
/// In-region round trips, assumed for the real-AWS estimate: DynamoDB, KMS Sign, SNS/SES send.
const DYNAMODB_MS: f64 = 8.0;
const KMS_MS: f64 = 15.0;
const SEND_MS: f64 = 60.0;

/// Lambda seconds of one flow on real AWS at `memory_mb`: Argon2 scales with the CPU share,
/// waiting on AWS does not.
fn lambda_seconds(f: &Flow, memory_mb: f64) -> f64 {
    let argon2 = f.argon2 * ARGON2_MS_ONE_VCPU * (1769.0 / memory_mb).max(1.0);
    let waits = f.units.requests as f64 * DYNAMODB_MS + (f.kms + f.decrypts) * KMS_MS + (f.sms + f.emails) * SEND_MS;
    (argon2 + waits) / 1000.0
}

fn flow_cost(f: &Flow, memory_mb: f64, invocations: f64) -> f64 {
    let gb_s = lambda_seconds(f, memory_mb) * memory_mb / 1024.0;
    f.units.write * WRITE_UNIT
        + f.units.read * READ_UNIT
        + (f.kms + f.decrypts) * KMS_REQUEST
        + f.sms * SMS
        + f.emails * EMAIL
        + invocations * (HTTP_API_REQUEST + LAMBDA_REQUEST + 1024.0 / 1e9 * LOG_GB)
        + gb_s * LAMBDA_GB_SECOND
}

fn bill(flows: &[Flow]) {
    let (signup, sign_in, refresh) = (&flows[0], &flows[1], &flows[2]);
    let signups = 1_000_000.0;
    let sign_ins = 10_000_000.0;
    // Access tokens live 15 minutes; a session used for about an hour refreshes 4 times (docs/cost.md).
    let refreshes = 4.0 * sign_ins;
    println!("\nreal-AWS estimate per flow (Lambda time = Argon2 at the function's memory + in-region waits):\n");
    println!("| flow | Lambda ms | USD per million |");
    println!("|---|---|---|");
    // Memory as template.yaml gives each function: refresh runs in the token function (512 MB).
    for (f, memory, invocations) in [
        (signup, 512.0, 2.0),
        (sign_in, 512.0, 1.0),
        (refresh, 512.0, 1.0),
        (&flows[3], 256.0, 1.0),
        (&flows[4], 256.0, 2.0),
        (&flows[5], 512.0, 2.0),
        (&flows[6], 512.0, 1.0),
        // The code (256 MB), the step-up (the token function, 512 MB), enrol and verify (256 MB):
        // priced at 512 MB, which overstates it.
        (&flows[7], 512.0, 4.0),
        // The password and the code complete in the token function (512 MB), the code is sent by
        // sign-in-code (256 MB): priced at 512 MB.
        (&flows[8], 512.0, 3.0),
    ] {
        println!(
            "| {} | {:.0} | {:.2} |",
            f.name,
            lambda_seconds(f, memory) * 1000.0,
            flow_cost(f, memory, invocations) * 1e6
        );
    }
    let month = signups * flow_cost(signup, 512.0, 2.0)
        + sign_ins * flow_cost(sign_in, 512.0, 1.0)
        + refreshes * flow_cost(refresh, 512.0, 1.0);
    // The signup's code SMS is one part (GSM-7, under 160 characters); SNS bills parts.
    let sms = signups * signup.sms * SMS;
    println!(
        "\n1M signups, 10M sign-ins and 40M refreshes a month: USD {month:.0}, of which SMS USD {sms:.0} and the rest USD {:.0}",
        month - sms
    );
    // Cognito bills monthly active users in tiers (docs/cost.md, with its sources).
    let essentials = |mau: f64| (mau - 10_000.0).max(0.0) * 0.015;
    let lite = |mau: f64| {
        let tier = |from: f64, to: f64, rate: f64| (mau.min(to) - from).max(0.0) * rate;
        tier(10_000.0, 100_000.0, 0.0055) + tier(100_000.0, 1_000_000.0, 0.0046) + tier(1_000_000.0, f64::MAX, 0.00325)
    };
    for mau in [1_000_000.0, 2_000_000.0] {
        println!(
            "Cognito at {:.0}M MAU: Essentials USD {:.0}, Lite USD {:.0} (+ the same SMS)",
            mau / 1e6,
            essentials(mau),
            lite(mau)
        );
    }
}
