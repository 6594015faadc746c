//! The rotation runbooks of docs/deploy.md as commands (`keys`), so that what a person runs is what
//! the end-to-end suite runs against moto (tests/e2e/rotations.rs).
//!
//! - The token signing key: a new KMS key signs; the public keys the functions verify with come
//!   with the deploy (`TokenPublicKeys`), the old key's kept until its tokens have expired (normal)
//!   or dropped at once (compromised).
//! - The code pepper: three steps, each followed by a deploy, so that the functions of one deploy
//!   and of the next always accept each other's codes and no user's attempt is burnt on a code
//!   another environment sealed.
//!
//! Each step edits the stage's parameters in samconfig.toml and says what to run next; none prints
//! a secret.

use aws_sdk_kms::Client as Kms;
use aws_sdk_secretsmanager::Client as SecretsManager;
use registration::adapters::{kms, secrets};
use registration::config::{MIN_PEPPER_BYTES, token_public_keys};
use registration::security::code::Peppers;
use registration::security::random;
use registration::security::tokens::SigningKey;
use serde_json::json;

use crate::samconfig::StageParameters;

/// Access tokens live 15 minutes; with 30 s of clock leeway, the last one an old key signed has
/// expired 16 minutes after the deploy that stopped it signing.
pub const OLD_KEY_TOKENS_EXPIRED_AFTER_MINUTES: u32 = 16;
/// The longest a confirmation code lives (an email code, 10 minutes), plus a minute.
pub const CODES_EXPIRED_AFTER_MINUTES: u32 = 11;

/// How the new key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningMode {
    /// KMS signs every token (`kms:Sign`); the private key never leaves KMS. The default.
    Kms,
    /// A P-256 key made here, sealed by a symmetric KMS key, opened by each minting function at
    /// cold start and used in its memory: tokens a second no longer depend on KMS's quota, at the
    /// price of the private key being in those functions' memory (docs/capacity.md).
    Sealed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRotation {
    /// The old key keeps verifying until its tokens have expired; nobody notices.
    Normal,
    /// The old key is dropped from every verifier and the JWKS by this very deploy: its tokens stop
    /// working at once (apps refresh; refresh tokens are not signed, so nobody signs in again).
    Compromised,
}

/// What a step did and what the person runs next.
#[derive(Debug, Default)]
pub struct Step {
    pub done: Vec<String>,
    pub next: Vec<String>,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.done {
            writeln!(f, "{line}")?;
        }
        if !self.next.is_empty() {
            writeln!(f, "next:")?;
            for (i, line) in self.next.iter().enumerate() {
                writeln!(f, "  {}. {line}", i + 1)?;
            }
        }
        Ok(())
    }
}

fn deploy(stage: &StageParameters) -> String {
    format!("make deploy STAGE={}", stage.stage())
}

/// A new signing key (made here, or `new_key`) for `stage`, and the public keys to publish.
pub async fn rotate_signing_key(
    client: &Kms,
    stage: &mut StageParameters,
    how: KeyRotation,
    new_key: Option<&str>,
) -> Result<Step, String> {
    rotate_signing_key_in(client, stage, how, SigningMode::Kms, new_key).await
}

/// `rotate_signing_key`, choosing how the new key signs. In the sealed mode `key` is the symmetric
/// key that seals (made here when not given) and the signing key is made here.
pub async fn rotate_signing_key_in(
    client: &Kms,
    stage: &mut StageParameters,
    how: KeyRotation,
    mode: SigningMode,
    key: Option<&str>,
) -> Result<Step, String> {
    let old = stage.get("SigningKeyArn").map(str::to_owned);
    // The key that signs now, as published: a KMS key's or a sealed key's public half.
    let old_public = token_public_keys(stage.get("TokenPublicKeys").unwrap_or_default())
        .ok()
        .and_then(|keys| keys.into_iter().next());
    let description = format!("registration access tokens ({})", stage.stage());
    let (arn, new_public, sealed) = match mode {
        SigningMode::Kms => {
            let arn = match key {
                Some(arn) => arn.to_owned(),
                None => kms::create_signing_key(client, &description).await.map_err(|e| e.to_string())?,
            };
            if old.as_deref() == Some(arn.as_str()) && stage.get("SealedSigningKey").is_none() {
                return Err(format!("{arn} already signs for {}", stage.stage()));
            }
            // Refuses a key that is not an ECC_NIST_P256 SIGN_VERIFY key, naming it.
            (arn.clone(), kms::public_key(client, &arn).await.map_err(|e| e.to_string())?, String::new())
        }
        SigningMode::Sealed => {
            let arn = match key {
                Some(arn) => arn.to_owned(),
                None => kms::create_sealing_key(client, &format!("{description}, sealing"))
                    .await
                    .map_err(|e| e.to_string())?,
            };
            let kid = format!("sealed-{}", uuid::Uuid::new_v4());
            let pkcs8 = zeroize::Zeroizing::new(SigningKey::generate_pkcs8());
            let key = SigningKey::from_pkcs8_der(&kid, &pkcs8).map_err(|e| e.to_string())?;
            let sealed = kms::seal_signing_key(client, &arn, &kid, &pkcs8).await.map_err(|e| e.to_string())?;
            (arn, key.public_key_ref().clone(), sealed.to_parameter())
        }
    };
    let mut published = vec![new_public];
    let mut step = Step::default();
    let old = old.filter(|_| old_public.is_some());
    match (&old, how) {
        (Some(_), KeyRotation::Normal) => {
            published.extend(old_public.clone());
            step.next = vec![
                deploy(stage),
                format!(
                    "{OLD_KEY_TOKENS_EXPIRED_AFTER_MINUTES} minutes after that deploy finished: keys signing-finish --stage {}",
                    stage.stage()
                ),
            ];
        }
        (Some(old), KeyRotation::Compromised) => {
            step.next = vec![format!("{} (the old key's tokens stop verifying everywhere at once)", deploy(stage))];
            if *old != arn {
                step.next.push(format!(
                    "then stop the old key signing or opening anything: aws kms disable-key --key-id {old}"
                ));
            }
        }
        (None, _) => step.next = vec![deploy(stage)],
    }
    let value = published.iter().map(|k| k.to_parameter()).collect::<Vec<_>>().join(",");
    stage.set("SigningKeyArn", &arn);
    stage.set("SigningMode", if mode == SigningMode::Sealed { "sealed" } else { "kms" });
    stage.set("SealedSigningKey", &sealed);
    stage.set("TokenPublicKeys", &value);
    stage.write()?;
    step.done.push(format!("{}: SigningKeyArn={arn} (signing mode {mode:?})", stage.stage()));
    step.done.push(format!(
        "{}: TokenPublicKeys lists {}",
        stage.stage(),
        published.iter().map(|k| k.kid()).collect::<Vec<_>>().join(", ")
    ));
    Ok(step)
}

/// Ends a normal rotation: only the signing key's public half is published.
pub fn finish_signing_rotation(stage: &mut StageParameters) -> Result<Step, String> {
    let keys = token_public_keys(stage.get("TokenPublicKeys").unwrap_or_default()).map_err(|e| e.to_string())?;
    let Some((current, retired)) = keys.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return Err(format!("{}: no rotation under way (TokenPublicKeys lists one key)", stage.stage()));
    };
    stage.set("TokenPublicKeys", &current.to_parameter());
    stage.write()?;
    let mut step = Step::default();
    step.done.push(format!("{}: TokenPublicKeys lists {} only", stage.stage(), current.kid()));
    step.next.push(deploy(stage));
    for key in retired {
        step.next.push(format!("aws kms schedule-key-deletion --key-id {} --pending-window-in-days 30", key.kid()));
    }
    Ok(step)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PepperStep {
    /// A new pepper is accepted everywhere; the old one still seals.
    Begin,
    /// The new pepper seals; the old one is still accepted.
    Promote,
    /// Only the new pepper: the codes the old one sealed have expired.
    Finish,
}

/// The peppers, and where a rotation stands: `None` (one pepper), `begun` or `promoted`.
fn rotation_state(text: &str) -> Result<(Peppers, Option<String>), String> {
    let peppers = Peppers::from_secret(text, MIN_PEPPER_BYTES)?;
    let step = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("step").and_then(|s| s.as_str()).map(str::to_owned));
    Ok((peppers, step))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a pepper is not text".to_owned())
}

/// One step of a pepper rotation on the secret `secret_arn`; `PepperRevision` in the stage's
/// parameters goes up by one, so the deploy that follows replaces every warm environment.
pub async fn rotate_pepper(
    client: &SecretsManager,
    secret_arn: &str,
    stage: &mut StageParameters,
    step: PepperStep,
) -> Result<Step, String> {
    let text = secrets::secret_string(client, secret_arn).await.map_err(|e| e.to_string())?;
    let (peppers, state) = rotation_state(&text)?;
    let (value, next) = match (step, state.as_deref(), peppers.also_check.as_slice()) {
        (PepperStep::Begin, None, []) => {
            let new = random::hex(&random::bytes::<48>());
            let value = json!({ "seal": utf8(&peppers.seal)?, "check": [new], "step": "begun" });
            (
                value.to_string(),
                format!("once deployed: keys pepper-promote --stage {} --secret-arn {secret_arn}", stage.stage()),
            )
        }
        (PepperStep::Promote, Some("begun"), [new]) => {
            let value = json!({ "seal": utf8(new)?, "check": [utf8(&peppers.seal)?], "step": "promoted" });
            let wait = CODES_EXPIRED_AFTER_MINUTES;
            (
                value.to_string(),
                format!(
                    "{wait} minutes after that deploy: keys pepper-finish --stage {} --secret-arn {secret_arn}",
                    stage.stage()
                ),
            )
        }
        (PepperStep::Finish, Some("promoted"), [_]) => (utf8(&peppers.seal)?, "the rotation is over".to_owned()),
        (_, state, _) => {
            return Err(format!(
                "the pepper rotation is at {:?}; run the steps in order: pepper-begin, pepper-promote, pepper-finish",
                state.unwrap_or("steady")
            ));
        }
    };
    secrets::put_secret_string(client, secret_arn, &value).await.map_err(|e| e.to_string())?;
    let revision = stage.get("PepperRevision").and_then(|r| r.parse::<u64>().ok()).unwrap_or(0) + 1;
    stage.set("PepperRevision", &revision.to_string());
    stage.write()?;
    Ok(Step {
        done: vec![format!(
            "{secret_arn}: pepper rotation {step:?} written; {}: PepperRevision={revision}",
            stage.stage()
        )],
        next: vec![deploy(stage), next],
    })
}
