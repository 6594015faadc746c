//! `keys`: the rotation runbooks of docs/deploy.md. Each command edits one stage's parameters in
//! samconfig.toml (and the pepper's secret) and prints what to run next; none prints a secret.

use std::path::PathBuf;

use admin::rotation::{self, KeyRotation, PepperStep, SigningMode};
use admin::samconfig::StageParameters;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "keys",
    version,
    about = "Rotate a stage's token signing key or code pepper (docs/deploy.md).",
    after_help = "Examples:\n  \
        keys signing-rotate --stage prod                # a new KMS key signs; the old one verifies for 16 minutes\n  \
        keys signing-finish --stage prod                # then: only the new key is published\n  \
        keys signing-rotate --stage prod --compromised  # the old key stops verifying with this deploy\n  \
        keys pepper-begin --stage prod --secret-arn arn:aws:secretsmanager:...   # then pepper-promote, pepper-finish"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Stage {
    /// The stage in samconfig.toml (dev, prod).
    #[arg(long)]
    stage: String,
    /// The SAM config file whose stage is edited.
    #[arg(long, default_value = "samconfig.toml")]
    config: PathBuf,
}

#[derive(Args)]
struct Pepper {
    #[command(flatten)]
    stage: Stage,
    /// The pepper's secret (the stack's CodePepperSecretArn output).
    #[arg(long)]
    secret_arn: String,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new KMS key (or use --key-arn) the stage's signing key; publish it with the old one.
    SigningRotate {
        #[command(flatten)]
        stage: Stage,
        /// Drop the old key from the verifiers and the JWKS with this deploy, not 16 minutes later.
        #[arg(long)]
        compromised: bool,
        /// An ECC_NIST_P256 SIGN_VERIFY key made beforehand, instead of a new one (with --sealed: the
        /// symmetric key that seals).
        #[arg(long)]
        key_arn: Option<String>,
        /// Past KMS's signing quota: a P-256 key sealed by a symmetric KMS key, opened by the minting
        /// functions at cold start and used in their memory (docs/capacity.md, "Past the KMS ceiling").
        #[arg(long)]
        sealed: bool,
    },
    /// End a rotation: publish the signing key only.
    SigningFinish(Stage),
    /// Pepper rotation, step 1: a new pepper is accepted everywhere; the old one still seals.
    PepperBegin(Pepper),
    /// Step 2: the new pepper seals; the old one is still accepted.
    PepperPromote(Pepper),
    /// Step 3: the new pepper only.
    PepperFinish(Pepper),
}

async fn run(cli: Cli) -> Result<String, String> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let read = |stage: &Stage| StageParameters::read(&stage.config, &stage.stage);
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let pepper = |args: Pepper, step: PepperStep| {
        let secrets = secrets.clone();
        async move {
            let mut stage = read(&args.stage)?;
            rotation::rotate_pepper(&secrets, &args.secret_arn, &mut stage, step).await
        }
    };
    let step = match cli.command {
        Command::SigningRotate { stage, compromised, key_arn, sealed } => {
            let how = if compromised { KeyRotation::Compromised } else { KeyRotation::Normal };
            let mode = if sealed { SigningMode::Sealed } else { SigningMode::Kms };
            let client = aws_sdk_kms::Client::new(&sdk);
            rotation::rotate_signing_key_in(&client, &mut read(&stage)?, how, mode, key_arn.as_deref()).await?
        }
        Command::SigningFinish(stage) => rotation::finish_signing_rotation(&mut read(&stage)?)?,
        Command::PepperBegin(args) => pepper(args, PepperStep::Begin).await?,
        Command::PepperPromote(args) => pepper(args, PepperStep::Promote).await?,
        Command::PepperFinish(args) => pepper(args, PepperStep::Finish).await?,
    };
    Ok(step.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    admin::exit_with(run(Cli::parse()).await)
}
