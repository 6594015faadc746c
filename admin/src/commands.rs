//! What each command does to the registry, with errors a person can act on.

use std::sync::Arc;

use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::ses::SesEmailSender;
use registration::adapters::sns::SnsSmsSender;
use registration::app::App;
use registration::domain::partner::{CountryCode, Partner, PartnerStatus, PolicyName, SigningSecret};
use registration::factors::policy::SecondFactorPolicy;
use registration::handlers::support::{self, MAX_REFERENCE_LEN, SupportRemovalError};
use registration::mail::Mailer;
use registration::ports::{AccountDeletions, Factors, PartnerRegistry, StoreError, SystemClock};

use crate::cli::{AddArgs, Cli, Command, FactorsRemoveArgs, Policy, SecondFactor, UpdateArgs, WebhooksCommand};
use crate::render;

pub async fn run(cli: Cli) -> Result<String, String> {
    let table = cli.table.ok_or("no table: pass --table <name> or set TABLE_NAME")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone()));
    let registry: Arc<dyn PartnerRegistry> = store.clone();
    let explain = |err: StoreError| explain(&table, err);
    match cli.command {
        Command::Add(args) => add(registry.as_ref(), args).await.map_err(|e| e.unwrap_or_else(explain)),
        Command::List => Ok(render::list(&registry.partners().await.map_err(explain)?)),
        Command::Show { id } => {
            let id = partner_id(&id)?;
            let partner = registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            Ok(render::show(&partner, None))
        }
        Command::Update(args) => update(registry.as_ref(), args).await.map_err(|e| e.unwrap_or_else(explain)),
        Command::Sumsub(args) => {
            let id = partner_id(&args.id)?;
            let partner = registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
            let outcome = crate::sumsub::configure(registry.as_ref(), &secrets, &table, partner, args, now()).await?;
            Ok(render::show_sumsub(&outcome.partner, outcome.new_webhook_secret.as_deref().map(String::as_str)))
        }
        Command::Deletions { id } => {
            let id = partner_id(&id)?;
            registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            Ok(render::deletions(&store.deletion_records(&id).await.map_err(explain)?))
        }
        Command::FactorsRemove(args) => {
            let id = partner_id(&args.id)?;
            let partner = registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            let (app, mailer) = notifying_app(&sdk, store.clone(), &args);
            let user = user_id(&args.user)?;
            let user = user.as_str();
            match support::remove_lost_factors(&app, &mailer, &partner, user, &args.reference).await {
                Ok(removal) => Ok(render::support_removal(&removal)),
                Err(SupportRemovalError::NoSuchAccount) => Err(format!("partner {id} has no active account {user}")),
                Err(SupportRemovalError::NoFactor) => Err(format!("account {user} has no second factor to remove")),
                Err(SupportRemovalError::BadReference) => Err(format!(
                    "--reference must be 1 to {MAX_REFERENCE_LEN} letters, digits or -_.:#/ (a ticket id, not a story)"
                )),
                Err(SupportRemovalError::Changed) => Err(
                    "the account changed at the same time (a sign-in completed, or its factor went); every session it had \
is ended already: run the command again"
                        .into(),
                ),
                Err(SupportRemovalError::Store(err)) => Err(explain(err)),
            }
        }
        Command::Webhooks(command) => {
            let id = partner_id(match &command {
                WebhooksCommand::Add(args) => &args.id,
                WebhooksCommand::RotateSecret(args) => &args.id,
                WebhooksCommand::Replay(args) => &args.id,
                WebhooksCommand::List { id }
                | WebhooksCommand::Remove { id, .. }
                | WebhooksCommand::Enable { id, .. }
                | WebhooksCommand::Disable { id, .. }
                | WebhooksCommand::Notify { id, .. }
                | WebhooksCommand::Test { id, .. }
                | WebhooksCommand::Log { id, .. } => id,
            })?;
            registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            crate::webhooks::run(&sdk, store.as_ref(), &id, command, now()).await.map_err(|e| e.unwrap_or_else(explain))
        }
        Command::FactorRemovals { id } => {
            let id = partner_id(&id)?;
            registry.partner(&id).await.map_err(explain)?.ok_or_else(|| no_such(&id))?;
            Ok(render::factor_removals(&store.factor_removal_records(&id).await.map_err(explain)?))
        }
    }
}

/// What sends the owner's notices: SMS and email with the stack's own senders, on the store.
fn notifying_app(sdk: &aws_config::SdkConfig, store: Arc<DynamoStore>, args: &FactorsRemoveArgs) -> (App, Mailer) {
    let sms = SnsSmsSender::new(aws_sdk_sns::Client::new(sdk), args.sms_sender_id.clone());
    // Nothing here seals or checks a code: a pepper of its own, known to nobody.
    let pepper = registration::security::random::bytes::<32>();
    let app = App::new(store, Arc::new(sms), Arc::new(SystemClock), &pepper);
    let sender = SesEmailSender::new(aws_sdk_sesv2::Client::new(sdk), args.email_sender.clone())
        .with_configuration_set(args.ses_configuration_set.clone());
    (app, Mailer::new(Arc::new(sender), &args.public_base_url))
}

/// A command's failure: a message already, or a store error still to explain.
type Failure = Result<String, StoreError>;

fn explain(table: &str, err: StoreError) -> String {
    match err {
        StoreError::Backend(detail) if detail.contains("ResourceNotFound") => {
            format!("table {table:?} does not exist in this account and region ({detail})")
        }
        StoreError::Backend(detail) | StoreError::Unavailable(detail) => {
            format!("DynamoDB refused the request: {detail} (check AWS credentials, region and --table)")
        }
        StoreError::Conflict => "someone else changed this partner at the same time; run the command again".into(),
    }
}

/// A user id as the partner has it (`usr:<uuid>`, or the bare UUID), as the table keys it.
fn user_id(given: &str) -> Result<String, String> {
    let bare = given.trim().trim_start_matches("usr:");
    uuid::Uuid::try_parse(bare)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| format!("{given:?} is not a user id (usr:<uuid>, or the UUID alone)"))
}

fn no_such(id: &str) -> String {
    format!("no partner with id {id} (partners list shows them all)")
}

fn partner_id(text: &str) -> Result<String, String> {
    uuid::Uuid::try_parse(text.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| format!("{text:?} is not a UUID (a partner id looks like 6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b)"))
}

fn countries(list: &[String]) -> Result<Vec<CountryCode>, String> {
    let mut codes = list.iter().map(|c| CountryCode::parse(c)).collect::<Result<Vec<_>, _>>()?;
    codes.sort();
    codes.dedup();
    Ok(codes)
}

fn second_factor(policy: SecondFactor) -> SecondFactorPolicy {
    match policy {
        SecondFactor::Off => SecondFactorPolicy::Off,
        SecondFactor::Optional => SecondFactorPolicy::Optional,
        SecondFactor::Required => SecondFactorPolicy::Required,
    }
}

fn policy(policy: Policy) -> PolicyName {
    match policy {
        Policy::Seed000 => PolicyName::Seed000,
        Policy::Seed003 => PolicyName::Seed003,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

async fn add(registry: &dyn PartnerRegistry, args: AddArgs) -> Result<String, Failure> {
    let id = match &args.id {
        Some(id) => partner_id(id).map_err(Ok)?,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let secret = args.signing_secret.then(SigningSecret::generate);
    let at = now();
    let partner = Partner {
        id: id.clone(),
        name: args.name.trim().to_owned(),
        status: PartnerStatus::Active,
        sandbox: args.sandbox,
        password_policy: policy(args.password_policy),
        sms_countries: countries(&args.sms_countries).map_err(Ok)?,
        daily_sms_budget: args.daily_sms_budget,
        signing_secret: secret.clone(),
        email_sender: args.email_sender,
        public_base_url: args.public_base_url,
        new_device_notices: args.new_device_notices,
        second_factor: second_factor(args.second_factor),
        forwards_end_user_address: false,
        sumsub: None,
        created_at: at,
        updated_at: at,
    };
    partner.validate().map_err(Ok)?;
    match registry.add_partner(&partner).await {
        Ok(()) => Ok(render::show(&partner, secret.as_ref())),
        Err(StoreError::Conflict) => Err(Ok(format!("a partner with id {id} already exists (partners show {id})"))),
        Err(other) => Err(Err(other)),
    }
}

async fn update(registry: &dyn PartnerRegistry, args: UpdateArgs) -> Result<String, Failure> {
    let id = partner_id(&args.id).map_err(Ok)?;
    let mut partner = registry.partner(&id).await.map_err(Err)?.ok_or_else(|| Ok(no_such(&id)))?;
    let read_at = partner.updated_at;
    if let Some(name) = args.name {
        partner.name = name.trim().to_owned();
    }
    if args.disable {
        partner.status = PartnerStatus::Disabled;
    }
    if args.enable {
        partner.status = PartnerStatus::Active;
    }
    if let Some(list) = &args.sms_countries {
        partner.sms_countries = countries(list).map_err(Ok)?;
    }
    if let Some(budget) = args.daily_sms_budget {
        partner.daily_sms_budget = budget;
    }
    if let Some(chosen) = args.password_policy {
        partner.password_policy = policy(chosen);
    }
    let mut new_secret = None;
    if args.rotate_signing_secret {
        new_secret = Some(SigningSecret::generate());
        partner.signing_secret = new_secret.clone();
    }
    if args.remove_signing_secret {
        partner.signing_secret = None;
    }
    if args.email_sender.is_some() || args.clear_email_sender {
        partner.email_sender = args.email_sender;
    }
    if args.public_base_url.is_some() || args.clear_public_base_url {
        partner.public_base_url = args.public_base_url;
    }
    if let Some(on) = args.forwards_end_user_address {
        partner.forwards_end_user_address = on;
    }
    if partner.signing_secret.is_none() {
        // Without a signature, nothing would vouch for the address a caller sends.
        partner.forwards_end_user_address = false;
        if args.forwards_end_user_address == Some(true) {
            return Err(Ok("--forwards-end-user-address on needs a signing secret: only the partner's signature vouches for the address".into()));
        }
    }
    if let Some(on) = args.new_device_notices {
        partner.new_device_notices = on;
    }
    if let Some(policy) = args.second_factor {
        partner.second_factor = second_factor(policy);
    }
    // Strictly later than the read, so the conditional write below always sees a change.
    partner.updated_at = now().max(read_at + 1);
    partner.validate().map_err(Ok)?;
    registry.update_partner(&partner, read_at).await.map_err(Err)?;
    Ok(render::show(&partner, new_secret.as_ref()))
}
