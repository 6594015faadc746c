//! Sumsub's API over HTTPS: `POST /resources/accessTokens/sdk`, signed as Sumsub documents
//! (`security::sumsub_signature`). Every call is bounded (1 s to connect, 3 s in all) so an answer,
//! 503 included, leaves well within the function's 10 s. No retry here: the app asks again.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::ports::{Clock, KycProviderError, SdkToken, SdkTokenRequest, SumsubApi, SystemClock};
use crate::security::sumsub_signature::request_signature;

/// Sumsub's API (sandbox app tokens work against the same host).
pub const DEFAULT_BASE_URL: &str = "https://api.sumsub.com";
pub const SDK_TOKEN_PATH: &str = "/resources/accessTokens/sdk";

pub struct SumsubHttp {
    client: reqwest::Client,
    base_url: String,
}

impl SumsubHttp {
    /// A client for `base_url` (no trailing slash): TLS by rustls on aws-lc, trusting the Mozilla
    /// roots compiled in (no reading of the system store at cold start).
    pub fn new(base_url: &str) -> Result<Self, String> {
        // reqwest takes rustls' process-wide provider; installing it twice is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(3))
            .https_only(base_url.starts_with("https://"))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("the Sumsub HTTP client: {e}"))?;
        Ok(SumsubHttp { client, base_url: base_url.trim_end_matches('/').to_owned() })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    token: String,
    user_id: String,
}

#[async_trait]
impl SumsubApi for SumsubHttp {
    async fn sdk_access_token(
        &self,
        app_token: &str,
        app_secret: &str,
        request: &SdkTokenRequest,
    ) -> Result<SdkToken, KycProviderError> {
        let body = serde_json::json!({
            "userId": request.user_id,
            "levelName": request.level_name,
            "ttlInSecs": request.ttl_secs,
        })
        .to_string();
        let ts = SystemClock.now();
        let signature = request_signature(app_secret, ts, "POST", SDK_TOKEN_PATH, body.as_bytes());
        let answer = self
            .client
            .post(format!("{}{SDK_TOKEN_PATH}", self.base_url))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("X-App-Token", app_token)
            .header("X-App-Access-Ts", ts.to_string())
            .header("X-App-Access-Sig", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| KycProviderError::Unavailable(format!("POST {SDK_TOKEN_PATH}: {e}")))?;
        let status = answer.status().as_u16();
        let text =
            answer.text().await.map_err(|e| KycProviderError::Unavailable(format!("reading the answer: {e}")))?;
        if status == 429 || status >= 500 {
            return Err(KycProviderError::Unavailable(format!("HTTP {status}")));
        }
        if status != 200 {
            // Sumsub's error body names the problem (`description`, `errorCode`); it holds no secret.
            let detail: String = text.chars().take(300).collect();
            return Err(KycProviderError::Refused { status, detail });
        }
        let parsed: TokenAnswer = serde_json::from_str(&text)
            .map_err(|e| KycProviderError::Unavailable(format!("an answer without token and userId: {e}")))?;
        if parsed.token.is_empty() || parsed.user_id != request.user_id {
            return Err(KycProviderError::Unavailable("an answer for another user or without a token".into()));
        }
        Ok(SdkToken { token: Zeroizing::new(parsed.token), user_id: parsed.user_id })
    }
}
