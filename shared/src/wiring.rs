//! What each kind of function loads at cold start, named once so every `main.rs` only picks one and
//! hands it to `serve`. All read configuration from the environment; AWS reads go through the
//! adapters (`App::config` for the pepper); the public keys that verify tokens come with the deploy
//! (`App::token_keys`), and the KMS signer reads nothing until it signs (`App::token_issuer`).

use crate::App;
use crate::app::{SumsubClients, WebhookClients};
use crate::config::{ConfigError, Environment, sms_factor_enrolment};
use crate::handlers::sms_factor_enrol::SmsFactorSwitch;
use crate::mail::Mailer;
use crate::security::access_token::AccessTokenVerifier;
use crate::security::tokens::TokenIssuer;

/// The clients, the table and, where the function is given one, the code pepper.
pub async fn app() -> Result<(App,), ConfigError> {
    Ok((App::from_env().await?,))
}

/// `app`, and the SES sender with its templates.
pub async fn app_mailer() -> Result<(App, Mailer), ConfigError> {
    let sdk = App::sdk_config().await?;
    Ok((App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?), App::mailer(&sdk, &Environment)?))
}

/// `app`, and the public keys that verify bearer tokens.
pub async fn app_verifier() -> Result<(App, AccessTokenVerifier), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    Ok((app, AccessTokenVerifier::new(&App::token_keys(&Environment)?)))
}

/// `app_verifier`, and the SES sender.
pub async fn app_verifier_mailer() -> Result<(App, AccessTokenVerifier, Mailer), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    let verifier = AccessTokenVerifier::new(&App::token_keys(&Environment)?);
    Ok((app, verifier, App::mailer(&sdk, &Environment)?))
}

/// `app_verifier_mailer`, and whether the stack takes SMS-factor enrolments yet.
pub async fn app_verifier_mailer_sms_enrolment()
-> Result<(App, AccessTokenVerifier, Mailer, SmsFactorSwitch), ConfigError> {
    let (app, verifier, mailer) = app_verifier_mailer().await?;
    let switch = if sms_factor_enrolment(&Environment)? { SmsFactorSwitch::On } else { SmsFactorSwitch::Off };
    Ok((app, verifier, mailer, switch))
}

/// `app_verifier`, and Sumsub's API with the partners' credentials for it.
pub async fn app_verifier_sumsub() -> Result<(App, AccessTokenVerifier, SumsubClients), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    let verifier = AccessTokenVerifier::new(&App::token_keys(&Environment)?);
    Ok((app, verifier, App::sumsub(&sdk, &Environment)?))
}

/// `app`, and the partners' Sumsub credentials (their webhook secrets).
pub async fn app_sumsub() -> Result<(App, SumsubClients), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    Ok((app, App::sumsub(&sdk, &Environment)?))
}

/// `app`, and the KMS signer that mints access tokens.
pub async fn app_issuer() -> Result<(App, TokenIssuer), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    Ok((app, App::token_issuer(&sdk, &Environment).await?))
}

/// `app_issuer`, and the SES sender.
pub async fn app_issuer_mailer() -> Result<(App, TokenIssuer, Mailer), ConfigError> {
    let sdk = App::sdk_config().await?;
    let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    let issuer = App::token_issuer(&sdk, &Environment).await?;
    Ok((app, issuer, App::mailer(&sdk, &Environment)?))
}

/// The JWKS document, rendered once from the public keys the deploy handed over: no AWS call.
pub async fn jwks_document() -> Result<(String,), ConfigError> {
    Ok((App::token_keys(&Environment)?.jwks().to_string(),))
}

/// The webhook dispatcher's clients: the table (events and endpoints) and the delivery queue.
pub async fn webhooks_dispatcher() -> Result<(WebhookClients,), ConfigError> {
    let sdk = App::sdk_config().await?;
    Ok((App::webhooks(&sdk, &Environment)?,))
}

/// The webhook deliverer's: the dispatcher's, and KMS to open the endpoints' secrets
/// (`FACTOR_KEY_ARN`, under the webhook purpose only) and the HTTPS poster.
pub async fn webhooks_deliverer() -> Result<(WebhookClients,), ConfigError> {
    let sdk = App::sdk_config().await?;
    let hooks = App::webhooks(&sdk, &Environment)?;
    if !hooks.opens_secrets {
        return Err(ConfigError::Missing("FACTOR_KEY_ARN"));
    }
    if hooks.notices.is_none() {
        return Err(ConfigError::Missing("EMAIL_SENDER"));
    }
    Ok((hooks,))
}
