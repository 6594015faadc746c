//! `partners sumsub`: a partner's Sumsub mode, level and app token in the registry; its app secret
//! and webhook secret in a Secrets Manager secret named `<table>/sumsub/<partner id>`, which only
//! the two Sumsub functions may read. A webhook secret made here is printed once.

use std::io::BufRead;

use aws_sdk_secretsmanager::Client;
use registration::adapters::partner_secrets::{put_sumsub_credentials, secret_name};
use registration::domain::partner::Partner;
use registration::domain::sumsub::{SumsubCredentials, SumsubMode, SumsubSettings};
use registration::ports::PartnerRegistry;
use registration::security::random;
use zeroize::Zeroizing;

use crate::cli::{SumsubArgs, SumsubModeArg};

/// Shorter webhook secrets are refused: it is the only thing that tells Sumsub's calls from forgeries.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// The partner after the change, and the webhook secret to print if one was made.
pub struct Outcome {
    pub partner: Partner,
    pub new_webhook_secret: Option<Zeroizing<String>>,
}

/// Secrets read from standard input, one per line, in the order the flags name them.
fn read_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
) -> Result<Zeroizing<String>, String> {
    let line = lines.next().ok_or_else(|| format!("standard input ended before the {what}"))?;
    let line = Zeroizing::new(line.map_err(|e| format!("reading the {what}: {e}"))?);
    let trimmed = Zeroizing::new(line.trim().to_owned());
    if trimmed.is_empty() {
        return Err(format!("the {what} on standard input is empty"));
    }
    Ok(trimmed)
}

pub async fn configure(
    registry: &dyn PartnerRegistry,
    secrets: &Client,
    table: &str,
    mut partner: Partner,
    args: SumsubArgs,
    now: i64,
) -> Result<Outcome, String> {
    let read_at = partner.updated_at;
    let name = secret_name(table, &partner.id);
    let mut new_webhook_secret = None;
    match args.mode {
        SumsubModeArg::Off => {
            if partner.sumsub.take().is_some() {
                // Kept 7 days, in case it was a mistake (RestoreSecret brings it back).
                secrets.delete_secret().secret_id(&name).recovery_window_in_days(7).send().await.map_err(|e| {
                    format!("DeleteSecret {name}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e))
                })?;
            }
        }
        SumsubModeArg::Sandbox | SumsubModeArg::Live => {
            let mode = if args.mode == SumsubModeArg::Live { SumsubMode::Live } else { SumsubMode::Sandbox };
            if partner.sandbox != (mode == SumsubMode::Sandbox) {
                return Err(
                    "a sandbox partner's Sumsub mode is sandbox (or off), a live partner's live (or off)".into()
                );
            }
            let previous = partner.sumsub.clone();
            let mut stored = match &previous {
                Some(settings) => Some(current_credentials(secrets, &settings.credentials_arn).await?),
                None => None,
            };
            let stdin = std::io::stdin();
            let mut lines = stdin.lock().lines();
            let given_app_secret =
                if args.app_secret_stdin { Some(read_line(&mut lines, "app secret")?) } else { None };
            let given_webhook_secret =
                if args.webhook_secret_stdin { Some(read_line(&mut lines, "webhook secret")?) } else { None };
            let (credentials, made) =
                next_credentials(stored.take(), given_app_secret, given_webhook_secret, args.rotate_webhook_secret)?;
            new_webhook_secret = made;
            let SumsubCredentials { app_secret, webhook_secret } = credentials;
            if mode == SumsubMode::Live && app_secret.is_none() {
                return Err("live mode needs the app token's secret key: pass --app-secret-stdin".into());
            }
            let level_name = args
                .level
                .or_else(|| previous.as_ref().map(|s| s.level_name.clone()))
                .ok_or("--level is required the first time (the level's name in Sumsub's dashboard)")?;
            let app_token = match mode {
                SumsubMode::Live => args.app_token.or_else(|| previous.as_ref().and_then(|s| s.app_token.clone())),
                SumsubMode::Sandbox => None,
            };
            // Checked before anything is written, with a placeholder for the ARN the write returns.
            let mut settings = SumsubSettings { mode, level_name, app_token, credentials_arn: "arn:pending".into() };
            Partner { sumsub: Some(settings.clone()), ..partner.clone() }.validate()?;
            let credentials = SumsubCredentials { app_secret, webhook_secret };
            settings.credentials_arn = put_sumsub_credentials(secrets, &name, &credentials).await?;
            partner.sumsub = Some(settings);
        }
    }
    partner.updated_at = now.max(read_at + 1);
    partner.validate()?;
    registry.update_partner(&partner, read_at).await.map_err(|e| match e {
        registration::ports::StoreError::Conflict => {
            "someone else changed this partner at the same time; run the command again".to_owned()
        }
        other => format!("DynamoDB refused the request: {other}"),
    })?;
    Ok(Outcome { partner, new_webhook_secret })
}

/// The credentials to store: what was given, else what was stored, and a new webhook secret where
/// there is none or a rotation was asked for (returned apart, to print once).
fn next_credentials(
    stored: Option<SumsubCredentials>,
    app_secret: Option<Zeroizing<String>>,
    webhook_secret: Option<Zeroizing<String>>,
    rotate: bool,
) -> Result<(SumsubCredentials, Option<Zeroizing<String>>), String> {
    if webhook_secret.as_ref().is_some_and(|s| s.len() < MIN_WEBHOOK_SECRET_LEN) {
        return Err(format!("the webhook secret must be {MIN_WEBHOOK_SECRET_LEN} characters at least"));
    }
    let (stored_app, stored_webhook) = match stored {
        Some(c) => (c.app_secret, Some(c.webhook_secret)),
        None => (None, None),
    };
    let app_secret = app_secret.or(stored_app);
    let kept = if rotate { None } else { webhook_secret.or(stored_webhook) };
    Ok(match kept {
        Some(webhook_secret) => (SumsubCredentials { app_secret, webhook_secret }, None),
        None => {
            let made = Zeroizing::new(random::hex(&random::bytes::<32>()));
            (SumsubCredentials { app_secret, webhook_secret: made.clone() }, Some(made))
        }
    })
}

async fn current_credentials(secrets: &Client, arn: &str) -> Result<SumsubCredentials, String> {
    let answer = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| format!("GetSecretValue {arn}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e)))?;
    SumsubCredentials::parse(answer.secret_string().unwrap_or_default())
        .ok_or_else(|| format!("{arn} does not hold Sumsub credentials"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Option<Zeroizing<String>> {
        Some(Zeroizing::new(text.to_owned()))
    }

    fn stored() -> Option<SumsubCredentials> {
        Some(SumsubCredentials { app_secret: secret("app-1"), webhook_secret: Zeroizing::new("w".repeat(40)) })
    }

    #[test]
    fn a_change_keeps_the_stored_secrets_unless_new_ones_are_given() {
        // First time: a webhook secret is made and returned to print.
        let (first, made) = next_credentials(None, secret("app-1"), None, false).unwrap();
        let made = made.expect("a new webhook secret");
        assert_eq!((first.app_secret.as_deref().map(String::as_str), first.webhook_secret.len()), (Some("app-1"), 64));
        assert_eq!(first.webhook_secret, made);
        // A level change: both secrets stay, nothing to print.
        let (kept, made) = next_credentials(stored(), None, None, false).unwrap();
        assert!(made.is_none());
        assert_eq!((kept.app_secret, kept.webhook_secret), (secret("app-1"), Zeroizing::new("w".repeat(40))));
        // A new app secret: the webhook secret stays.
        let (changed, _) = next_credentials(stored(), secret("app-2"), None, false).unwrap();
        assert_eq!((changed.app_secret, changed.webhook_secret), (secret("app-2"), Zeroizing::new("w".repeat(40))));
        // A rotation: a new webhook secret, the app secret stays.
        let (rotated, made) = next_credentials(stored(), None, None, true).unwrap();
        assert_ne!(rotated.webhook_secret, Zeroizing::new("w".repeat(40)));
        assert_eq!(Some(rotated.webhook_secret), made);
        assert_eq!(rotated.app_secret, secret("app-1"));
        // A given webhook secret must be long enough.
        assert!(next_credentials(stored(), None, secret("short"), false).is_err());
        let (given, made) = next_credentials(None, None, secret(&"g".repeat(32)), false).unwrap();
        assert!(made.is_none());
        assert_eq!(given.webhook_secret, Zeroizing::new("g".repeat(32)));
    }
}
