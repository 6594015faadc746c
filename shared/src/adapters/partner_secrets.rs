//! Partners' Sumsub credentials in Secrets Manager: one secret per partner, named
//! `<table>/sumsub/<partner id>`, so the functions' IAM policy can name the prefix and nothing else.
//! `partners sumsub` writes it; the two Sumsub functions read it, and keep it for five minutes so a
//! burst of webhooks costs one read (a rotated secret takes effect within those five minutes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::domain::sumsub::SumsubCredentials;
use crate::ports::{KycProviderError, PartnerSecrets};

pub const CACHE_FOR: Duration = Duration::from_secs(300);

/// The name of a partner's credentials secret in a deployment whose table is `table`.
pub fn secret_name(table: &str, partner_id: &str) -> String {
    format!("{table}/sumsub/{partner_id}")
}

pub struct SecretsManagerPartnerSecrets {
    client: Client,
    cache: Mutex<HashMap<String, (Instant, SumsubCredentials)>>,
    pub ttl: Duration,
}

impl SecretsManagerPartnerSecrets {
    pub fn new(client: Client) -> Self {
        SecretsManagerPartnerSecrets { client, cache: Mutex::new(HashMap::new()), ttl: CACHE_FOR }
    }

    fn cached(&self, arn: &str) -> Option<SumsubCredentials> {
        let cache = self.cache.lock().ok()?;
        cache.get(arn).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }
}

#[async_trait]
impl PartnerSecrets for SecretsManagerPartnerSecrets {
    async fn sumsub_credentials(&self, arn: &str) -> Result<SumsubCredentials, KycProviderError> {
        if let Some(credentials) = self.cached(arn) {
            return Ok(credentials);
        }
        let answer =
            self.client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
                KycProviderError::Credentials(format!("GetSecretValue {arn}: {}", DisplayErrorContext(&e)))
            })?;
        let credentials = SumsubCredentials::parse(answer.secret_string().unwrap_or_default())
            .ok_or_else(|| KycProviderError::Credentials(format!("{arn} is not JSON with webhookSecret")))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(arn.to_owned(), (Instant::now(), credentials.clone()));
        }
        Ok(credentials)
    }
}

/// Creates the partner's secret, or puts a new version if it exists; returns its ARN.
pub async fn put_sumsub_credentials(
    client: &Client,
    name: &str,
    credentials: &SumsubCredentials,
) -> Result<String, String> {
    let value = serde_json::to_string(credentials).map_err(|e| e.to_string())?;
    let created = client
        .create_secret()
        .name(name)
        .description("Sumsub app secret and webhook secret of one partner (partners sumsub)")
        .secret_string(&value)
        .send()
        .await;
    match created {
        Ok(out) => out.arn.ok_or_else(|| format!("CreateSecret {name} returned no ARN")),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => {
            let out = client
                .put_secret_value()
                .secret_id(name)
                .secret_string(&value)
                .send()
                .await
                .map_err(|e| format!("PutSecretValue {name}: {}", DisplayErrorContext(&e)))?;
            out.arn.ok_or_else(|| format!("PutSecretValue {name} returned no ARN"))
        }
        Err(e) => Err(format!("CreateSecret {name}: {}", DisplayErrorContext(&e))),
    }
}
