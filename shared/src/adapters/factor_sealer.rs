//! Second-factor secrets sealed by KMS (`Encrypt`/`Decrypt`) under the factor key (`FACTOR_KEY_ARN`,
//! a symmetric key of its own), with the encryption context `purpose=registration-factor-secret` and
//! `user=<id>`: the template grants `kms:Decrypt` only under that purpose, and a ciphertext moved to
//! another account does not open.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::kms::retryable;
use crate::ports::{SecretSealer, StoreError};

/// The encryption context's purpose, which the template's grant names.
pub const PURPOSE: &str = "registration-factor-secret";

/// The purpose webhook signing secrets are sealed under (`webhooks::endpoints`), with the subject
/// `endpoint=<partner>/<id>`: a grant for factor secrets does not open them, nor the reverse.
pub const WEBHOOK_PURPOSE: &str = "registration-webhook-secret";

pub struct KmsSecretSealer {
    client: Client,
    key_arn: String,
    purpose: &'static str,
    subject: &'static str,
}

impl KmsSecretSealer {
    /// Second-factor secrets, sealed for `user=<id>`.
    pub fn new(client: Client, key_arn: &str) -> Self {
        KmsSecretSealer { client, key_arn: key_arn.to_owned(), purpose: PURPOSE, subject: "user" }
    }

    /// Webhook signing secrets, sealed for `endpoint=<partner>/<id>`, under the same key.
    pub fn for_webhooks(client: Client, key_arn: &str) -> Self {
        KmsSecretSealer { client, key_arn: key_arn.to_owned(), purpose: WEBHOOK_PURPOSE, subject: "endpoint" }
    }
}

#[async_trait]
impl SecretSealer for KmsSecretSealer {
    async fn seal(&self, user_id: &str, secret: &[u8]) -> Result<String, StoreError> {
        let answer = self
            .client
            .encrypt()
            .key_id(&self.key_arn)
            .plaintext(Blob::new(secret.to_vec()))
            .encryption_context("purpose", self.purpose)
            .encryption_context(self.subject, user_id)
            .send()
            .await
            .map_err(|e| classify("Encrypt", e))?;
        let sealed =
            answer.ciphertext_blob().ok_or_else(|| StoreError::Backend("KMS returned no ciphertext".into()))?;
        Ok(STANDARD.encode(sealed.as_ref()))
    }

    async fn open(&self, user_id: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let ciphertext =
            STANDARD.decode(sealed).map_err(|_| StoreError::Backend("a sealed factor secret is not base64".into()))?;
        let answer = self
            .client
            .decrypt()
            .key_id(&self.key_arn)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context("purpose", self.purpose)
            .encryption_context(self.subject, user_id)
            .send()
            .await
            .map_err(|e| classify("Decrypt", e))?;
        Ok(Zeroizing::new(answer.plaintext().map(|b| b.as_ref().to_vec()).unwrap_or_default()))
    }
}

fn classify<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let why = format!("{operation} of a factor secret: {}", DisplayErrorContext(&err));
    if retryable(&err) { StoreError::Unavailable(why) } else { StoreError::Backend(why) }
}
