//! The end-to-end harness: a moto server started by the harness itself, a table created exactly as
//! `template.yaml` declares it, the real adapters pointed at moto, and events loaded from `events/`.
//! Only two things are test doubles, and both wrap or replace what moto cannot do: a clock that tests
//! can move (moto never expires anything) and an SMS sender that fails on command.

pub mod faults;
pub mod logs;
pub mod moto;
pub mod stack;

use std::sync::Arc;

use lambda_http::{Body, Request};
use registration::App;
use registration::config::Config;
use registration::handlers::{phone_confirm, phone_resend, signup};
use registration::security::tokens::{SigningKey, TokenIssuer};
use serde_json::Value;

pub use faults::{FlakySms, TestClock};
pub use moto::Moto;

/// The seed 002 partner id and version.
pub const MERCHANT: &str = "bece038f-2e46-49f4-b25e-89cd38d6dc16";
pub const VERSION: &str = "1.2";
pub const ISSUER: &str = "https://registration.test";

/// One isolated service: its own table on the shared moto server, its own clock and keys.
pub struct TestEnv {
    pub moto: &'static Moto,
    pub app: App,
    pub issuer: TokenIssuer,
    pub clock: Arc<TestClock>,
    pub sms: Arc<FlakySms>,
    pub table: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// A raw table item.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// What a handler answered, parsed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        logs::capture();
        let moto = Moto::shared().await;
        let table = format!("registration-{}", uuid::Uuid::new_v4());
        let sdk = moto.sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        stack::create_table(&dynamodb, &table, &stack::TableSpec::from_template())
            .await
            .expect("create table");

        let pepper = registration::security::random::bytes::<32>().to_vec();
        let config = Config {
            table_name: table.clone(),
            code_pepper: pepper.into(),
            sms_sender_id: None,
        };
        let mut app = App::from_sdk(&sdk, &config);
        let clock = Arc::new(TestClock::starting_now());
        let sms = Arc::new(FlakySms::wrapping(app.sms.clone()));
        app.clock = clock.clone();
        app.sms = sms.clone();
        let key =
            SigningKey::from_pkcs8_der("test-key-1", &SigningKey::generate_pkcs8()).expect("key");
        let issuer = TokenIssuer::new(key, ISSUER, registration::config::DEFAULT_AUDIENCE);
        TestEnv {
            moto,
            app,
            issuer,
            clock,
            sms,
            table,
            dynamodb,
        }
    }

    pub async fn signup(&self, body: Value) -> Answer {
        self.call(Endpoint::Signup, body, &[]).await
    }

    pub async fn confirm(&self, phone: &str, code: &str) -> Answer {
        self.call(
            Endpoint::PhoneConfirm,
            serde_json::json!({ "phone": phone, "code": code }),
            &[],
        )
        .await
    }

    pub async fn resend(&self, phone: &str) -> Answer {
        self.call(
            Endpoint::PhoneResend,
            serde_json::json!({ "phone": phone }),
            &[],
        )
        .await
    }

    /// Calls a handler with its event from `events/`, the JSON `body`, and header changes
    /// (`Some(value)` sets, `None` removes).
    pub async fn call(
        &self,
        endpoint: Endpoint,
        body: Value,
        headers: &[(&'static str, Option<&str>)],
    ) -> Answer {
        let text = match body {
            Value::String(raw) => raw,
            other => other.to_string(),
        };
        self.call_raw(endpoint, Body::Text(text), headers).await
    }

    pub async fn call_raw(
        &self,
        endpoint: Endpoint,
        body: Body,
        headers: &[(&'static str, Option<&str>)],
    ) -> Answer {
        let mut req = endpoint.event();
        *req.body_mut() = body;
        for (name, value) in headers {
            match value {
                Some(v) => {
                    req.headers_mut()
                        .insert(*name, v.parse().expect("header value"));
                }
                None => {
                    req.headers_mut().remove(*name);
                }
            }
        }
        let response = match endpoint {
            Endpoint::Signup => signup::handle(&self.app, req).await,
            Endpoint::PhoneConfirm => phone_confirm::handle(&self.app, &self.issuer, req).await,
            Endpoint::PhoneResend => phone_resend::handle(&self.app, req).await,
        }
        .expect("handlers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes: &[u8] = response.body().as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("JSON body")
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The SMS moto captured for `phone`, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Vec<String> {
        self.moto.sms_to(phone).await
    }

    /// The code in the latest SMS to `phone`.
    pub async fn latest_code(&self, phone: &str) -> String {
        let messages = self.sms_to(phone).await;
        let last = messages
            .last()
            .unwrap_or_else(|| panic!("no SMS to {phone}"));
        extract_code(last).unwrap_or_else(|| panic!("no code in {last:?}"))
    }

    /// Every item in this test's table (moto tables are small).
    pub async fn items(&self) -> Vec<Item> {
        let out = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .expect("scan");
        out.items.unwrap_or_default()
    }

    /// Account items (pending or active) whose phone is `e164`.
    pub async fn accounts(&self, e164: &str) -> Vec<Item> {
        let text = |item: &Item, attr: &str| item.get(attr).and_then(|v| v.as_s().ok()).cloned();
        self.items()
            .await
            .into_iter()
            .filter(|item| {
                text(item, "sk").as_deref() == Some("ACCOUNT")
                    && text(item, "phone").as_deref() == Some(e164)
            })
            .collect()
    }

    pub async fn accounts_for(&self, e164: &str) -> usize {
        self.accounts(e164).await.len()
    }
}

/// The six digits at the start of a code SMS.
pub fn extract_code(message: &str) -> Option<String> {
    let digits: String = message.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 6).then_some(digits)
}

/// A random valid UK mobile number, so tests never share a phone.
pub fn fresh_phone() -> String {
    let n = u32::from_le_bytes(registration::security::random::bytes::<4>()) % 1_000_000;
    format!("+447871{n:06}")
}

#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Signup,
    PhoneConfirm,
    PhoneResend,
}

impl Endpoint {
    /// The endpoint's API Gateway HTTP API event from `events/`.
    pub fn event(self) -> Request {
        let json = match self {
            Endpoint::Signup => include_str!("../../events/signup.json"),
            Endpoint::PhoneConfirm => include_str!("../../events/phone-confirm.json"),
            Endpoint::PhoneResend => include_str!("../../events/phone-resend.json"),
        };
        lambda_http::request::from_str(json).expect("event fixture parses")
    }
}
