//! `POST /v2/customer/kyc/sumsub/token` (bearer) → `{ "token", "userId", "expiresIn" }`: an access
//! token for Sumsub's mobile or web SDK, which the app opens for the user's identity verification
//! (seed 003, step 3). Only a holder of the partner's Sumsub app secret can mint one, so the app
//! asks here and never holds that secret.
//!
//! The account must be at KYC_0 and not already decided: KYC_1 answers 409, a final rejection 403.
//! A RETRY or a pending review may ask again (the SDK shows the user where they stand). In sandbox
//! mode nothing is sent to Sumsub: the token is `_sandbox-...` and opens nothing.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::signed_in::{SignedIn, signed_in_account};
use crate::app::{App, SumsubClients};
use crate::domain::identity_review::ReviewStatus;
use crate::domain::kyc::KycLevel;
use crate::domain::sumsub::SumsubMode;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::ports::{KycProviderError, SdkTokenRequest};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::random;
use crate::security::tokens::user_ref;

/// How long an SDK token opens the SDK: Sumsub's own example, long enough to take the photos.
pub const SDK_TOKEN_TTL_SECS: u32 = 600;
/// What every sandbox token starts with, so no one mistakes it for Sumsub's (`_act-...`).
pub const SANDBOX_TOKEN_PREFIX: &str = "_sandbox-act-";

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    sumsub: &SumsubClients,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("kyc-sumsub-token", &req, token(app, verifier, sumsub, &req).await)
}

async fn token(
    app: &App,
    verifier: &AccessTokenVerifier,
    sumsub: &SumsubClients,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } = signed_in_account(app, verifier, req, Method::POST).await?;
    let settings = caller.partner.sumsub.as_ref().ok_or(ApiError::KycNotEnabled)?;
    match (account.shown_kyc_level(), account.identity_review.as_ref().map(|r| r.status)) {
        (KycLevel::None, _) => return Err(ApiError::Kyc0Required),
        (KycLevel::Kyc1, _) => return Err(ApiError::KycAlreadyVerified),
        (_, Some(ReviewStatus::Rejected)) => return Err(ApiError::KycRejected),
        _ => {}
    }
    let user_id = user_ref(&account.user_id);
    let token = match settings.mode {
        SumsubMode::Sandbox => format!("{SANDBOX_TOKEN_PREFIX}{}", random::hex(&random::bytes::<16>())),
        SumsubMode::Live => {
            let unavailable = |err: KycProviderError| {
                // The partner's configuration (token, secret, level) or Sumsub itself: not the
                // caller's to fix, so a 503 either way, and the log says which.
                tracing::error!(merchant_id = %caller.partner.id, error = %err, "no Sumsub SDK token");
                ApiError::Unavailable
            };
            let credentials =
                sumsub.secrets.sumsub_credentials(&settings.credentials_arn).await.map_err(unavailable)?;
            let app_secret = credentials
                .app_secret
                .as_deref()
                .ok_or_else(|| unavailable(KycProviderError::Credentials("no appSecret in the secret".into())))?;
            let app_token = settings.app_token.as_deref().unwrap_or_default();
            let request = SdkTokenRequest {
                user_id: user_id.clone(),
                level_name: settings.level_name.clone(),
                ttl_secs: SDK_TOKEN_TTL_SECS,
            };
            let minted = sumsub.api.sdk_access_token(app_token, app_secret, &request).await.map_err(unavailable)?;
            minted.token.to_string()
        }
    };
    tracing::info!(user_id = %account.user_id, mode = settings.mode.as_str(), "Sumsub SDK token issued");
    Ok(json(200, &json!({ "token": token, "userId": user_id, "expiresIn": SDK_TOKEN_TTL_SECS })))
}
