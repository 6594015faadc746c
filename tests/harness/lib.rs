//! The end-to-end harness: a moto server started by the harness itself, a table created exactly as
//! `template.yaml` declares it, the real adapters pointed at moto, and events loaded from `events/`.
//! The only test doubles wrap or replace what moto cannot do: a clock that tests can move (moto never
//! expires anything), and wrappers of the real SNS, SES and deletion adapters that fail on command.

pub mod aws_calls;
pub mod dev_receiver;
pub mod factors;
pub mod faults;
pub mod link_server;
pub mod logs;
pub mod moto;
pub mod partners;
pub mod stack;
pub mod sumsub_standin;
pub mod webhook_pipeline;
pub mod webhook_receiver;

use std::sync::Arc;

use lambda_http::{Body, Request};
use registration::App;
use registration::domain::partner::PolicyName;
use registration::handlers::{
    account_delete, account_export, deletion_page, email_add, email_confirm, email_resend, factor_remove, factors_list,
    jwks, kyc_sumsub_token, password_change, password_forgot, password_reset, phone_add, phone_change, phone_confirm,
    phone_resend, profile_get, profile_update, recovery_codes_regenerate, revoke, session_end, sessions_end_others,
    sessions_list, sign_in_code, signup, signup_email, sms_factor_enrol, step_up_code, sumsub_webhook, token,
    totp_enrol, totp_verify,
};
use registration::security::access_token::AccessTokenVerifier;
use registration::security::tokens::TokenIssuer;
use serde_json::Value;

pub use faults::{FlakyDeletions, FlakyEmail, FlakySigner, FlakySms, TestClock};
pub use moto::Moto;

/// The seed 002 partner id and version.
pub const MERCHANT: &str = "bece038f-2e46-49f4-b25e-89cd38d6dc16";
pub const VERSION: &str = "1.2";
/// A partner that chose the seed 003 password policy.
pub const SEED_003_MERCHANT: &str = "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b";
/// A sandbox partner: sends nothing, accepts 12345.
pub const SANDBOX_MERCHANT: &str = "5a0d7c1e-93b2-4e1f-a6c4-2b8e9f0d1c3a";
pub const ISSUER: &str = "https://registration.test";
/// The From address of emails; the harness verifies it in moto's SES first.
pub const EMAIL_SENDER: &str = "no-reply@registration.test";
/// A live partner that verifies identities with Sumsub (the stand-in, in the tests).
pub const KYC_MERCHANT: &str = "0b6e3f2a-7c1d-4e5f-9a8b-1c2d3e4f5a6b";
/// A sandbox partner with Sumsub in sandbox mode: no call to Sumsub, its tests send the webhooks.
pub const KYC_SANDBOX_MERCHANT: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
/// The Sumsub app token and secret the live KYC partner uses, which the stand-in expects.
pub const SUMSUB_APP_TOKEN: &str = "prd:stand-in-app-token";
pub const SUMSUB_APP_SECRET: &str = "stand-in-app-secret";

/// One isolated service: its own table on the shared moto server, its own clock and keys.
pub struct TestEnv {
    pub moto: &'static Moto,
    pub app: App,
    pub issuer: TokenIssuer,
    /// The issuer's signer: KMS on moto, failing on command.
    pub signer: Arc<FlakySigner>,
    pub verifier: AccessTokenVerifier,
    pub jwks_document: String,
    pub clock: Arc<TestClock>,
    pub sms: Arc<FlakySms>,
    pub deletions: Arc<FlakyDeletions>,
    pub mailer: registration::mail::Mailer,
    pub email: Arc<FlakyEmail>,
    pub table: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Sumsub's API (the stand-in below) and the partners' Sumsub credentials (Secrets Manager on moto).
    pub sumsub: registration::app::SumsubClients,
    pub sumsub_standin: sumsub_standin::SumsubStandIn,
    /// KMS on moto, and the key second-factor and webhook secrets are sealed under.
    pub kms: aws_sdk_kms::Client,
    pub factor_key: String,
}

/// A raw table item.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// What a handler answered, parsed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    /// The body as JSON, or `Null` when it is empty or not JSON (an HTML page).
    pub body: Value,
    pub text: String,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        TestEnv::with_public_base_url("https://registration.test").await
    }

    /// A service whose email links point at `base_url` (a local server, for the browser test).
    pub async fn with_public_base_url(base_url: &str) -> TestEnv {
        logs::capture();
        let moto = Moto::shared().await;
        let table = format!("registration-{}", uuid::Uuid::new_v4());
        let sdk = moto.sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        stack::create_table(&dynamodb, &table, &stack::TableSpec::from_template()).await.expect("create table");

        // The pepper and the signing key as deployed: a Secrets Manager secret and a KMS key, read by
        // the same code the functions run at init.
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let pepper = stack::create_pepper_secret(&secrets, &format!("pepper-{table}")).await.expect("pepper secret");
        let kms = aws_sdk_kms::Client::new(&sdk);
        let key = stack::create_signing_key(&kms).await.expect("signing key");
        let public_keys = stack::published_public_key(&kms, &key).await.expect("public key");
        let factor_key = stack::create_factor_key(&kms).await.expect("factor key");
        let source = [
            ("FACTOR_KEY_ARN", factor_key.as_str()),
            ("TABLE_NAME", table.as_str()),
            ("CODE_PEPPER_SECRET_ARN", pepper.as_str()),
            ("SIGNING_KEY_ARN", key.as_str()),
            ("TOKEN_PUBLIC_KEYS", public_keys.as_str()),
            ("TOKEN_ISSUER", ISSUER),
        ];
        let config = App::config(&sdk, &source).await.expect("config");
        let mut app = App::from_sdk(&sdk, &config);
        // Tests change partners and expect the next request to see it.
        app.partners.ttl = std::time::Duration::ZERO;
        // The KYC partners' Sumsub credentials, written as `partners sumsub` writes them.
        let sumsub_standin = sumsub_standin::SumsubStandIn::start(SUMSUB_APP_TOKEN, SUMSUB_APP_SECRET).await;
        let mut credentials_arns = Vec::new();
        for (id, app_secret) in [(KYC_MERCHANT, Some(SUMSUB_APP_SECRET)), (KYC_SANDBOX_MERCHANT, None)] {
            let credentials = registration::domain::sumsub::SumsubCredentials {
                app_secret: app_secret.map(|s| zeroize::Zeroizing::new(s.to_owned())),
                webhook_secret: zeroize::Zeroizing::new(webhook_secret(id)),
            };
            let name = registration::adapters::partner_secrets::secret_name(&table, id);
            let arn = registration::adapters::partner_secrets::put_sumsub_credentials(&secrets, &name, &credentials)
                .await
                .expect("Sumsub credentials secret");
            credentials_arns.push(arn);
        }
        let sumsub_source = [("SUMSUB_API_URL", sumsub_standin.base_url.as_str())];
        let sumsub = App::sumsub(&sdk, &sumsub_source).expect("Sumsub clients");
        use registration::domain::sumsub::SumsubMode;
        for partner in [
            partners::live(MERCHANT, PolicyName::Seed000),
            partners::live(SEED_003_MERCHANT, PolicyName::Seed003),
            partners::sandbox(SANDBOX_MERCHANT),
            partners::with_sumsub(
                partners::live(KYC_MERCHANT, PolicyName::Seed000),
                SumsubMode::Live,
                Some(SUMSUB_APP_TOKEN),
                &credentials_arns[0],
            ),
            partners::with_sumsub(
                partners::sandbox(KYC_SANDBOX_MERCHANT),
                SumsubMode::Sandbox,
                None,
                &credentials_arns[1],
            ),
        ] {
            app.partners.registry().add_partner(&partner).await.expect("register partner");
        }
        let clock = Arc::new(TestClock::starting_now());
        let sms = Arc::new(FlakySms::wrapping(app.sms.clone()));
        let deletions = Arc::new(FlakyDeletions::wrapping(app.deletions.clone()));
        app.clock = clock.clone();
        app.sms = sms.clone();
        app.deletions = deletions.clone();
        // The real KMS signer, wrapped so a test can make KMS fail.
        let kms_client = kms.clone();
        let kms = registration::adapters::kms::KmsSigner::load(kms, &key).await.expect("key");
        let signer = Arc::new(FlakySigner::wrapping(Arc::new(kms)));
        let issuer = TokenIssuer::new(signer.clone(), ISSUER, registration::config::DEFAULT_AUDIENCE);
        stack::create_email_identity(&aws_sdk_sesv2::Client::new(&sdk), EMAIL_SENDER).await.expect("SES sender");
        let email_config = [("EMAIL_SENDER", EMAIL_SENDER), ("PUBLIC_BASE_URL", base_url)];
        let mut mailer = App::mailer(&sdk, &email_config).expect("mailer");
        let email = Arc::new(FlakyEmail::wrapping(mailer.sender.clone()));
        mailer.sender = email.clone();
        // What the verifying functions and the JWKS function load.
        let keys = App::token_keys(&source).expect("token keys");
        let verifier = AccessTokenVerifier::new(&keys);
        let jwks_document = keys.jwks().to_string();
        TestEnv {
            moto,
            app,
            issuer,
            signer,
            verifier,
            jwks_document,
            clock,
            sms,
            deletions,
            mailer,
            email,
            table,
            dynamodb,
            sumsub,
            sumsub_standin,
            kms: kms_client,
            factor_key,
        }
    }

    /// Moves the clock past the per-recipient cooldown, so the next send to a phone or mailbox fits.
    pub fn wait_out_cooldown(&self) {
        self.clock.advance(registration::domain::send_limits::SendLimits::default().cooldown_secs + 1);
    }

    pub async fn signup(&self, body: Value) -> Answer {
        self.call(Endpoint::Signup, body, &[]).await
    }

    pub async fn confirm(&self, phone: &str, code: &str) -> Answer {
        self.call(Endpoint::PhoneConfirm, serde_json::json!({ "phone": phone, "code": code }), &[]).await
    }

    pub async fn resend(&self, phone: &str) -> Answer {
        self.call(Endpoint::PhoneResend, serde_json::json!({ "phone": phone }), &[]).await
    }

    /// Calls a handler with its event from `events/`, the JSON `body`, and header changes
    /// (`Some(value)` sets, `None` removes).
    pub async fn call(&self, endpoint: Endpoint, body: Value, headers: &[(&'static str, Option<&str>)]) -> Answer {
        let text = match body {
            Value::String(raw) => raw,
            other => other.to_string(),
        };
        self.call_raw(endpoint, Body::Text(text), headers).await
    }

    pub async fn call_raw(&self, endpoint: Endpoint, body: Body, headers: &[(&'static str, Option<&str>)]) -> Answer {
        self.call_from(None, endpoint, body, headers).await
    }

    /// `call_raw` from the source IP `ip` (as API Gateway reports it) instead of the event's.
    pub async fn call_from(
        &self,
        ip: Option<&str>,
        endpoint: Endpoint,
        body: Body,
        headers: &[(&'static str, Option<&str>)],
    ) -> Answer {
        self.call_with_event(endpoint, endpoint.event(), ip, body, headers).await
    }

    /// `call_from` on a request built from another event of the same route (a named stage's, a
    /// custom domain's), as API Gateway would send it there.
    pub async fn call_with_event(
        &self,
        endpoint: Endpoint,
        mut req: Request,
        ip: Option<&str>,
        body: Body,
        headers: &[(&'static str, Option<&str>)],
    ) -> Answer {
        if let Some(ip) = ip {
            use lambda_http::RequestExt;
            use lambda_http::request::RequestContext;
            let mut context = req.request_context();
            if let RequestContext::ApiGatewayV2(ctx) = &mut context {
                ctx.http.source_ip = Some(ip.to_owned());
            }
            req = req.with_request_context(context);
        }
        *req.body_mut() = body;
        for (name, value) in headers {
            match value {
                Some(v) => {
                    req.headers_mut().insert(*name, v.parse().expect("header value"));
                }
                None => {
                    req.headers_mut().remove(*name);
                }
            }
        }
        let handled = aws_calls::as_function(endpoint.function(), async move {
            match endpoint {
                Endpoint::AccountDelete => account_delete::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::AccountExport => account_export::handle(&self.app, &self.verifier, req).await,
                Endpoint::DeletionPage | Endpoint::DeletionPagePost => {
                    deletion_page::handle(&self.app, &self.mailer, req).await
                }
                Endpoint::Signup => signup::handle(&self.app, req).await,
                Endpoint::PhoneConfirm => phone_confirm::handle(&self.app, &self.issuer, req).await,
                Endpoint::PhoneResend => phone_resend::handle(&self.app, req).await,
                Endpoint::Token | Endpoint::TokenForm => {
                    token::handle(&self.app, &self.issuer, &self.mailer, req).await
                }
                Endpoint::Revoke => revoke::handle(&self.app, &self.verifier, req).await,
                Endpoint::Jwks => jwks::handle(&self.jwks_document, req).await,
                Endpoint::EmailAdd => email_add::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::EmailResend => email_resend::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::EmailConfirm | Endpoint::EmailConfirmPost => {
                    email_confirm::handle(&self.app, &self.mailer, req).await
                }
                Endpoint::ProfileUpdate => profile_update::handle(&self.app, &self.verifier, req).await,
                Endpoint::ProfileGet => profile_get::handle(&self.app, &self.verifier, req).await,
                Endpoint::PasswordForgot => password_forgot::handle(&self.app, &self.mailer, req).await,
                Endpoint::PasswordReset => password_reset::handle(&self.app, &self.mailer, req).await,
                Endpoint::PasswordChange => password_change::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::SignupEmail => signup_email::handle(&self.app, &self.issuer, &self.mailer, req).await,
                Endpoint::PhoneAdd => phone_add::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::PhoneChange => phone_change::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::SessionsList => sessions_list::handle(&self.app, &self.verifier, req).await,
                Endpoint::SessionEnd => session_end::handle(&self.app, &self.verifier, req).await,
                Endpoint::SessionsEndOthers => sessions_end_others::handle(&self.app, &self.verifier, req).await,
                Endpoint::StepUpCode => step_up_code::handle(&self.app, &self.verifier, req).await,
                Endpoint::SignInCode => sign_in_code::handle(&self.app, req).await,
                Endpoint::SmsFactorEnrol => {
                    let on = sms_factor_enrol::SmsFactorSwitch::On;
                    sms_factor_enrol::handle(&self.app, &self.verifier, &self.mailer, on, req).await
                }
                Endpoint::TotpEnrol => totp_enrol::handle(&self.app, &self.verifier, req).await,
                Endpoint::TotpVerify => totp_verify::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::FactorsList => factors_list::handle(&self.app, &self.verifier, req).await,
                Endpoint::FactorRemove => factor_remove::handle(&self.app, &self.verifier, &self.mailer, req).await,
                Endpoint::RecoveryCodesRegenerate => {
                    recovery_codes_regenerate::handle(&self.app, &self.verifier, &self.mailer, req).await
                }
                Endpoint::KycSumsubToken => {
                    kyc_sumsub_token::handle(&self.app, &self.verifier, &self.sumsub, req).await
                }
                Endpoint::SumsubWebhook => sumsub_webhook::handle(&self.app, &self.sumsub, req).await,
            }
        });
        let response = handled.await.expect("handlers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        let is_json = headers.get("content-type").is_some_and(|v| v == "application/json");
        let body = if is_json { serde_json::from_str(&text).expect("JSON body") } else { Value::Null };
        Answer { status, headers, body, text }
    }

    /// Changes a registered partner in this test's table; the next request sees it.
    pub async fn update_partner(&self, id: &str, change: impl FnOnce(&mut registration::domain::partner::Partner)) {
        let registry = self.app.partners.registry();
        let mut partner = registry.partner(id).await.expect("read partner").expect("partner exists");
        let read_at = partner.updated_at;
        change(&mut partner);
        partner.updated_at = read_at + 1;
        registry.update_partner(&partner, read_at).await.expect("update partner");
    }

    /// Signs up and confirms `phone`; the confirm's token response.
    pub async fn registered(&self, phone: &str, password: &str) -> Answer {
        let signup = self.signup(serde_json::json!({ "phone": phone, "password": password })).await;
        assert_eq!(signup.status, 200, "signup: {:?}", signup.body);
        let code = self.latest_code(phone).await;
        let tokens = self.confirm(phone, &code).await;
        assert_eq!(tokens.status, 200, "confirm: {:?}", tokens.body);
        tokens
    }

    pub async fn forgot(&self, phone: &str) -> Answer {
        self.call(Endpoint::PasswordForgot, serde_json::json!({ "phone": phone }), &[]).await
    }

    pub async fn reset(&self, phone: &str, code: &str, password: &str) -> Answer {
        let body = serde_json::json!({ "phone": phone, "code": code, "password": password });
        self.call(Endpoint::PasswordReset, body, &[]).await
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Answer {
        let body = serde_json::json!({ "grant_type": "password", "username": username, "password": password });
        self.call(Endpoint::Token, body, &[]).await
    }

    /// `application/x-www-form-urlencoded`, as OAuth clients send it.
    pub async fn sign_in_form(&self, username: &str, password: &str) -> Answer {
        let form = format!("grant_type=password&username={}&password={}", form_encode(username), form_encode(password));
        self.call(Endpoint::TokenForm, Value::String(form), &[]).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Answer {
        let form = format!("grant_type=refresh_token&refresh_token={}", form_encode(refresh_token));
        self.call(Endpoint::TokenForm, Value::String(form), &[]).await
    }

    pub async fn revoke(&self, token: &str) -> Answer {
        self.call(Endpoint::Revoke, Value::String(format!("token={}", form_encode(token))), &[]).await
    }

    /// Calls a protected endpoint with `Authorization: <authorization>`.
    pub async fn as_user(&self, endpoint: Endpoint, authorization: &str, body: Value) -> Answer {
        self.call(endpoint, body, &[("authorization", Some(authorization))]).await
    }

    /// Follows a confirmation link (or any `?token=` value) as a browser would, or as JSON.
    pub async fn open_link(&self, link: &str, json: bool) -> Answer {
        use lambda_http::RequestExt;
        let token = link.rsplit_once("token=").map_or(link, |(_, t)| t).to_owned();
        let mut req = Endpoint::EmailConfirm
            .event()
            .with_query_string_parameters(std::collections::HashMap::from([("token".to_owned(), token)]));
        let accept = if json { "application/json" } else { "text/html" };
        req.headers_mut().insert("accept", accept.parse().expect("header"));
        let handled = aws_calls::as_function("email-confirm", email_confirm::handle(&self.app, &self.mailer, req));
        let response = handled.await.expect("infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        let body = if json { serde_json::from_str(&text).expect("JSON body") } else { Value::Null };
        Answer { status, headers, body, text }
    }

    /// `DELETE /v2/customer/sessions/{id}` as `authorization`, with `id` in the path as API Gateway
    /// sends it.
    pub async fn end_session(&self, authorization: &str, id: &str) -> Answer {
        let event = include_str!("../../events/session-end.json").replace("REPLACE_WITH_A_SESSION_ID", id);
        let mut req = lambda_http::request::from_str(&event).expect("event fixture parses");
        req.headers_mut().insert("authorization", authorization.parse().expect("header value"));
        let handled = aws_calls::as_function("session-end", session_end::handle(&self.app, &self.verifier, req));
        let response = handled.await.expect("handlers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// Adds `phone` to the signed-in account of `tokens` (an email-first one) and confirms it with
    /// the code it gets, as an app would.
    pub async fn added_phone(&self, tokens: &Answer, phone: &str) {
        let auth = bearer(tokens);
        let asked = self.as_user(Endpoint::PhoneAdd, &auth, serde_json::json!({ "phone": phone })).await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        let code = self.latest_code(phone).await;
        let added = self.as_user(Endpoint::PhoneAdd, &auth, serde_json::json!({ "phone": phone, "code": code })).await;
        assert_eq!(added.status, 200, "{:?}", added.body);
    }

    /// `DELETE /v2/customer/factors/{id}` as `authorization`, with `id` in the path as API Gateway
    /// sends it.
    pub async fn remove_factor(&self, authorization: &str, id: &str) -> Answer {
        let event = include_str!("../../events/factor-remove.json").replace("REPLACE_WITH_A_FACTOR_ID", id);
        let mut req = lambda_http::request::from_str(&event).expect("event fixture parses");
        req.headers_mut().insert("authorization", authorization.parse().expect("header value"));
        let removal = factor_remove::handle(&self.app, &self.verifier, &self.mailer, req);
        let response = aws_calls::as_function("factor-remove", removal).await.expect("handlers are infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// Presses the button on the link's page: POSTs the token as the page's form does.
    pub async fn press_link_button(&self, link: &str) -> Answer {
        let token = link.rsplit_once("token=").map_or(link, |(_, t)| t);
        self.call(Endpoint::EmailConfirmPost, Value::String(format!("token={}", form_encode(token))), &[]).await
    }

    /// The emails moto captured for `address`: (subject, HTML body), oldest first.
    pub async fn emails_to(&self, address: &str) -> Vec<(String, String)> {
        let data = self.moto.data("ses").await;
        data["ses"]["Message"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| {
                        m["destinations"]["ToAddresses"].as_array().is_some_and(|to| to.iter().any(|a| a == address))
                    })
                    .map(|m| {
                        (m["subject"].as_str().unwrap_or("").to_owned(), m["body"].as_str().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The code in the latest email to `address` (its subject starts with it).
    pub async fn emailed_code(&self, address: &str) -> String {
        let emails = self.emails_to(&address.to_lowercase()).await;
        let (subject, _) = emails.last().unwrap_or_else(|| panic!("no email to {address}"));
        extract_code(subject).unwrap_or_else(|| panic!("no code in {subject:?}"))
    }

    /// An email-first account for `email` (both steps, on the default partner); its token response.
    pub async fn email_account(&self, email: &str, password: &str) -> Answer {
        let ask = serde_json::json!({ "email": email, "password": password });
        let asked = self.call(Endpoint::SignupEmail, ask, &[]).await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        let code = self.emailed_code(email).await;
        let confirm = serde_json::json!({ "email": email, "password": password, "emailConfirmCode": code });
        let tokens = self.call(Endpoint::SignupEmail, confirm, &[]).await;
        assert_eq!(tokens.status, 200, "{:?}", tokens.body);
        tokens
    }

    /// The confirmation link in the latest email to `address`.
    pub async fn latest_link(&self, address: &str) -> String {
        let emails = self.emails_to(address).await;
        let (_, body) = emails.last().unwrap_or_else(|| panic!("no email to {address}"));
        extract_link(body).unwrap_or_else(|| panic!("no confirmation link in the email to {address}"))
    }

    /// What a protected endpoint decides about `Authorization: <authorization>`.
    pub async fn authenticate(
        &self,
        authorization: &str,
    ) -> Result<registration::auth::Principal, registration::ApiError> {
        self.authenticate_as(authorization, MERCHANT).await
    }

    pub async fn authenticate_as(
        &self,
        authorization: &str,
        merchant: &str,
    ) -> Result<registration::auth::Principal, registration::ApiError> {
        let mut req = Endpoint::Signup.event();
        req.headers_mut().insert("authorization", authorization.parse().expect("header value"));
        req.headers_mut().insert("x-merchant-id", merchant.parse().expect("header value"));
        let caller = registration::admission::identify(&self.app, &req).await?;
        registration::auth::authenticate(&self.app, &self.verifier, &req, &caller).await
    }

    /// The SMS moto captured for `phone`, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Vec<String> {
        self.moto.sms_to(phone).await
    }

    /// The code in the latest SMS to `phone`.
    pub async fn latest_code(&self, phone: &str) -> String {
        let messages = self.sms_to(phone).await;
        let last = messages.last().unwrap_or_else(|| panic!("no SMS to {phone}"));
        extract_code(last).unwrap_or_else(|| panic!("no code in {last:?}"))
    }

    /// Every item in this test's table (moto tables are small).
    pub async fn items(&self) -> Vec<Item> {
        let out = self.dynamodb.scan().table_name(&self.table).send().await.expect("scan");
        out.items.unwrap_or_default()
    }

    /// The partner's webhook events about `user_id` in the outbox (as the dispatcher reads them),
    /// in the order their changes committed (`sequence`).
    pub async fn events_about(&self, user_id: &str) -> Vec<registration::webhooks::event::EventRecord> {
        use registration::adapters::dynamodb::events::{EVENTS_PREFIX, event_record};
        let items = self.items().await;
        let in_outbox =
            |item: &&Item| item.get("pk").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk.starts_with(EVENTS_PREFIX));
        let mut events: Vec<_> = items
            .iter()
            .filter(in_outbox)
            .map(|item| event_record(item).expect("an event item this build reads"))
            .filter(|event| event.user_id == user_id)
            .collect();
        events.sort_by_key(|event| event.sequence);
        events
    }

    /// Account items (pending or active) whose phone is `e164`.
    pub async fn accounts(&self, e164: &str) -> Vec<Item> {
        let text = |item: &Item, attr: &str| item.get(attr).and_then(|v| v.as_s().ok()).cloned();
        self.items()
            .await
            .into_iter()
            .filter(|item| {
                text(item, "sk").as_deref() == Some("ACCOUNT") && text(item, "phone").as_deref() == Some(e164)
            })
            .collect()
    }

    pub async fn accounts_for(&self, e164: &str) -> usize {
        self.accounts(e164).await.len()
    }
}

/// Asserts `answer` is the error envelope with `status` and `error`, as every error is.
pub fn assert_error(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["error"], error, "{:?}", answer.body);
    assert!(answer.body["errorId"].is_u64(), "{:?}", answer.body);
    assert!(answer.body["message"].is_string(), "{:?}", answer.body);
    assert_eq!(answer.body["systemId"], "registration");
    assert_eq!(answer.headers["content-type"], "application/json");
}

/// `Bearer <access token>` from a token response (which must be a 200).
pub fn bearer(tokens: &Answer) -> String {
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    format!("Bearer {}", tokens.body["access_token"].as_str().expect("an access token"))
}

/// Percent-encodes a form value (RFC 3986 unreserved characters stay).
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The confirmation link in an HTML email body (attribute-escaped as the template writes it).
pub fn extract_link(html: &str) -> Option<String> {
    let unescaped = html.replace("&#x2f;", "/").replace("&amp;", "&").replace("&#x3d;", "=");
    let start = unescaped.find("href=\"")? + "href=\"".len();
    let end = unescaped[start..].find('"')? + start;
    let link = &unescaped[start..end];
    link.contains("/v2/mobile/email/confirm?token=").then(|| link.to_owned())
}

/// The six digits at the start of a code SMS.
pub fn extract_code(message: &str) -> Option<String> {
    let digits: String = message.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 6).then_some(digits)
}

/// A random address (mixed case, as users type), so tests never share a mailbox.
pub fn fresh_email() -> String {
    format!("first.{}@Example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A code that is certainly not `code`.
pub fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().expect("six digits") + 1) % 1_000_000)
}

/// Runs each future on its own task of the (multi-thread) runtime, as parallel Lambda copies would.
pub async fn in_parallel<T, F>(futures: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    futures::future::join_all(futures.into_iter().map(tokio::spawn))
        .await
        .into_iter()
        .map(|r| r.expect("the task finished"))
        .collect()
}

/// The webhook secret the tests' KYC partner `id` was given: different for each partner.
pub fn webhook_secret(id: &str) -> String {
    format!("webhook-secret-of-{id}")
}

/// A random valid UK mobile number, so tests never share a phone.
pub fn fresh_phone() -> String {
    let n = u32::from_le_bytes(registration::security::random::bytes::<4>()) % 1_000_000;
    format!("+447871{n:06}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    AccountDelete,
    AccountExport,
    /// `GET /v2/account/delete?partner=` (the page); `DeletionPagePost` sends its forms.
    DeletionPage,
    DeletionPagePost,
    Signup,
    PhoneConfirm,
    PhoneResend,
    /// The token endpoint with a JSON body.
    Token,
    /// The token endpoint with a form body.
    TokenForm,
    Revoke,
    Jwks,
    EmailAdd,
    EmailResend,
    EmailConfirm,
    /// The button on the link's page: `POST` with the token as a form field.
    EmailConfirmPost,
    ProfileUpdate,
    ProfileGet,
    PasswordForgot,
    PasswordReset,
    PasswordChange,
    SignupEmail,
    PhoneAdd,
    PhoneChange,
    SessionsList,
    /// `DELETE /v2/customer/sessions/{id}`; `session_end` puts the id in.
    SessionEnd,
    SessionsEndOthers,
    StepUpCode,
    SignInCode,
    SmsFactorEnrol,
    TotpEnrol,
    TotpVerify,
    FactorsList,
    /// `DELETE /v2/customer/factors/{id}`; `factor_remove` puts the id in.
    FactorRemove,
    RecoveryCodesRegenerate,
    KycSumsubToken,
    SumsubWebhook,
}

impl Endpoint {
    /// The function (its crate, binary and `operationId`) that serves this endpoint.
    pub fn function(self) -> &'static str {
        match self {
            Endpoint::AccountDelete => "account-delete",
            Endpoint::AccountExport => "account-export",
            Endpoint::DeletionPage | Endpoint::DeletionPagePost => "deletion-page",
            Endpoint::Signup => "signup",
            Endpoint::PhoneConfirm => "phone-confirm",
            Endpoint::PhoneResend => "phone-resend",
            Endpoint::Token | Endpoint::TokenForm => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::Jwks => "jwks",
            Endpoint::EmailAdd => "email-add",
            Endpoint::EmailResend => "email-resend",
            Endpoint::EmailConfirm | Endpoint::EmailConfirmPost => "email-confirm",
            Endpoint::ProfileUpdate => "profile-update",
            Endpoint::ProfileGet => "profile-get",
            Endpoint::PasswordForgot => "password-forgot",
            Endpoint::PasswordReset => "password-reset",
            Endpoint::PasswordChange => "password-change",
            Endpoint::SignupEmail => "signup-email",
            Endpoint::PhoneAdd => "phone-add",
            Endpoint::PhoneChange => "phone-change",
            Endpoint::SessionsList => "sessions-list",
            Endpoint::SessionEnd => "session-end",
            Endpoint::SessionsEndOthers => "sessions-end-others",
            Endpoint::StepUpCode => "step-up-code",
            Endpoint::SignInCode => "sign-in-code",
            Endpoint::SmsFactorEnrol => "sms-factor-enrol",
            Endpoint::TotpEnrol => "totp-enrol",
            Endpoint::TotpVerify => "totp-verify",
            Endpoint::FactorsList => "factors-list",
            Endpoint::FactorRemove => "factor-remove",
            Endpoint::RecoveryCodesRegenerate => "recovery-codes-regenerate",
            Endpoint::KycSumsubToken => "kyc-sumsub-token",
            Endpoint::SumsubWebhook => "sumsub-webhook",
        }
    }

    /// The endpoint's API Gateway HTTP API event from `events/`.
    pub fn event(self) -> Request {
        let json = match self {
            Endpoint::AccountDelete => include_str!("../../events/account-delete.json"),
            Endpoint::AccountExport => include_str!("../../events/account-export.json"),
            Endpoint::DeletionPage => include_str!("../../events/deletion-page.json"),
            Endpoint::DeletionPagePost => include_str!("../../events/deletion-page-phone.json"),
            Endpoint::Signup => include_str!("../../events/signup.json"),
            Endpoint::PhoneConfirm => include_str!("../../events/phone-confirm.json"),
            Endpoint::PhoneResend => include_str!("../../events/phone-resend.json"),
            Endpoint::Token => include_str!("../../events/token-password.json"),
            Endpoint::TokenForm => include_str!("../../events/token-password-form.json"),
            Endpoint::Revoke => include_str!("../../events/revoke.json"),
            Endpoint::Jwks => include_str!("../../events/jwks.json"),
            Endpoint::EmailAdd => include_str!("../../events/email-add.json"),
            Endpoint::EmailResend => include_str!("../../events/email-resend.json"),
            Endpoint::EmailConfirm => include_str!("../../events/email-confirm.json"),
            Endpoint::EmailConfirmPost => include_str!("../../events/email-confirm-post.json"),
            Endpoint::ProfileUpdate => include_str!("../../events/profile-update.json"),
            Endpoint::ProfileGet => include_str!("../../events/profile-get.json"),
            Endpoint::PasswordForgot => include_str!("../../events/password-forgot.json"),
            Endpoint::PasswordReset => include_str!("../../events/password-reset.json"),
            Endpoint::PasswordChange => include_str!("../../events/password-change.json"),
            Endpoint::SignupEmail => include_str!("../../events/signup-email.json"),
            Endpoint::PhoneAdd => include_str!("../../events/phone-add.json"),
            Endpoint::PhoneChange => include_str!("../../events/phone-change.json"),
            Endpoint::SessionsList => include_str!("../../events/sessions-list.json"),
            Endpoint::SessionEnd => include_str!("../../events/session-end.json"),
            Endpoint::SessionsEndOthers => include_str!("../../events/sessions-end-others.json"),
            Endpoint::StepUpCode => include_str!("../../events/step-up-code.json"),
            Endpoint::SignInCode => include_str!("../../events/sign-in-code.json"),
            Endpoint::SmsFactorEnrol => include_str!("../../events/sms-factor-enrol.json"),
            Endpoint::TotpEnrol => include_str!("../../events/totp-enrol.json"),
            Endpoint::TotpVerify => include_str!("../../events/totp-verify.json"),
            Endpoint::FactorsList => include_str!("../../events/factors-list.json"),
            Endpoint::FactorRemove => include_str!("../../events/factor-remove.json"),
            Endpoint::RecoveryCodesRegenerate => include_str!("../../events/recovery-codes-regenerate.json"),
            Endpoint::KycSumsubToken => include_str!("../../events/kyc-sumsub-token.json"),
            Endpoint::SumsubWebhook => include_str!("../../events/sumsub-webhook.json"),
        };
        lambda_http::request::from_str(json).expect("event fixture parses")
    }
}
