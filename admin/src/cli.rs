//! The command line, as `partners --help` shows it.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "partners",
    version,
    about = "Manage the partners (merchants) of a registration service deployment.",
    long_about = "Manage the partners (merchants) of a registration service deployment.\n\n\
        Every request to the service names its partner in X-Merchant-ID; only partners registered \
        here, and active, are served. Writes go straight to the service's DynamoDB table, with the \
        AWS credentials, region and endpoint of the environment (AWS_PROFILE, AWS_REGION, \
        AWS_ENDPOINT_URL, ...). Running functions see a change within a minute.",
    after_help = "Examples:\n  \
        partners --table registration-prod add --name \"Acme Pay\" --sms-countries GB,IE --daily-sms-budget 2000\n  \
        partners --table registration-prod add --name \"Acme Pay sandbox\" --sandbox --sms-countries GB\n  \
        partners --table registration-prod list\n  \
        partners --table registration-prod update 6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b --disable\n  \
        partners --table registration-prod deletions 6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b\n  \
        partners --table registration-prod sumsub 6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b --mode live --level basic-kyc-level --app-token prd:... --app-secret-stdin < app-secret.txt"
)]
pub struct Cli {
    /// The service's DynamoDB table (the stack's TableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    pub table: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Register a new partner and print its settings.
    Add(AddArgs),
    /// List every partner, one per line.
    List,
    /// Show one partner's settings (a signing secret is never shown again after it is made).
    Show {
        /// The partner's id (its X-Merchant-ID).
        id: String,
    },
    /// Change a partner's settings; options not given stay as they are.
    Update(UpdateArgs),
    /// Turn identity verification with Sumsub on (sandbox or live) or off, or change its settings.
    /// The app secret and the webhook secret go to Secrets Manager, never to the table; a new
    /// webhook secret is printed once.
    Sumsub(SumsubArgs),
    /// List the partner's account deletions (time, user id, app or web), oldest first. Records hold
    /// no personal data and are kept 3 years.
    Deletions {
        /// The partner's id (its X-Merchant-ID).
        id: String,
    },
    /// Remove a user's second factors at the partner's support request, for a user who lost both
    /// the authenticator app and the recovery codes and whom the partner has identified its own
    /// way: the factors and codes go, every session ends, the owner is told by SMS and email, and a
    /// record stays for the partner (factor-removals).
    FactorsRemove(FactorsRemoveArgs),
    /// List the partner's support removals of second factors (time, user id, reference), oldest
    /// first. Records hold no personal data and are kept 3 years.
    FactorRemovals {
        /// The partner's id (its X-Merchant-ID).
        id: String,
    },
    /// The partner's webhook endpoints: where its users' account events are posted, signed per
    /// Standard Webhooks, retried for three days (docs/webhooks.md).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Make an endpoint and print its signing secret, once.
    Add(WebhookAddArgs),
    /// List the partner's endpoints (never a secret).
    List {
        /// The partner's id (its X-Merchant-ID).
        id: String,
    },
    /// Remove one endpoint: nothing more is posted to it.
    Remove {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`, as `list` shows it).
        endpoint: String,
    },
    /// Give an endpoint a new signing secret and print it, once. Deliveries carry the old secret's
    /// signature beside the new one's for the overlap, while the receiver moves to the new one.
    RotateSecret(WebhookRotateArgs),
    /// Stop posting to an endpoint, saying why: one that is dead and whose retries fill the
    /// delivery queue (its in-flight alarm), or that the partner asked to pause. Its queued tasks
    /// are dropped as they come up; replay what it missed once it is enabled again.
    Disable {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`).
        endpoint: String,
        /// Why, as `partners webhooks list` will show it.
        #[arg(long)]
        reason: String,
    },
    /// Post to a disabled endpoint again (what was given up meanwhile is not: replay it).
    Enable {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`).
        endpoint: String,
    },
    /// Email a different contact when the endpoint is disabled.
    Notify {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`).
        endpoint: String,
        /// Who to email (the partner's team) when the endpoint is disabled.
        #[arg(long)]
        email: String,
    },
    /// Send one event, or every event of a time range, again: to every active endpoint that takes
    /// it, or to one. Receivers see the first delivery's webhook-id and sequence.
    Replay(WebhookReplayArgs),
    /// Post a signed `webhook.test` event to one endpoint (active or disabled) from the deployed
    /// deliverer, once, and print what the receiver answered.
    Test {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`).
        endpoint: String,
        /// The delivery queue: the stack's WebhookDeliveryQueueUrl output.
        #[arg(long, env = "WEBHOOK_QUEUE_URL")]
        queue_url: String,
    },
    /// An endpoint's delivery attempts, newest first: when, which event, what the receiver
    /// answered, and what came next (kept 30 days).
    Log {
        /// The partner's id (its X-Merchant-ID).
        id: String,
        /// The endpoint's id (`we_…`).
        endpoint: String,
        /// How many attempts to show.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
}

#[derive(Args)]
pub struct WebhookRotateArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    /// The endpoint's id (`we_…`).
    pub endpoint: String,
    /// Hours the old secret still signs beside the new one (0 to 168): 24 for a routine rotation,
    /// time for the receivers to take the new secret; 0 when it leaked.
    #[arg(long)]
    pub overlap_hours: i64,
    /// The key endpoint secrets are sealed under: the stack's FactorKeyArn output.
    #[arg(long, env = "FACTOR_KEY_ARN")]
    pub factor_key: String,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(false).args(["event", "since"])))]
pub struct WebhookReplayArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    /// One event (`evt_…`, the webhook-id the receiver saw).
    #[arg(long)]
    pub event: Option<String>,
    /// Every event from this time on (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// ... up to this time (RFC 3339; now when left out).
    #[arg(long, requires = "since", conflicts_with = "event")]
    pub until: Option<String>,
    /// Only to this endpoint (`we_…`); every active endpoint that takes the event when left out.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The delivery queue: the stack's WebhookDeliveryQueueUrl output.
    #[arg(long, env = "WEBHOOK_QUEUE_URL")]
    pub queue_url: String,
}

#[derive(Args)]
pub struct WebhookAddArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    /// Where events are posted: an https URL on the internet (no internal or private host).
    #[arg(long)]
    pub url: String,
    /// Only these event types (comma-separated, e.g. account.deleted,account.phone_changed);
    /// every type, new ones included, when left out.
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<String>,
    /// Send phone numbers and email addresses in full rather than masked: the receiver then holds
    /// personal data, and the partner answers for it.
    #[arg(long)]
    pub full_contact: bool,
    /// Who to tell when the endpoint is disabled (a 410, or three days of failures): an email
    /// address the partner reads, with how to start it again.
    #[arg(long)]
    pub notify: String,
    /// The key endpoint secrets are sealed under: the stack's FactorKeyArn output.
    #[arg(long, env = "FACTOR_KEY_ARN")]
    pub factor_key: String,
}

#[derive(Args)]
pub struct FactorsRemoveArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    /// The user's id, as the partner has it (`usr:` and all, or the bare UUID).
    pub user: String,
    /// The partner's reference for the request: a ticket id (letters, digits and -_.:#/, at most
    /// 64), never a name, number or address: the record keeps it 3 years.
    #[arg(long)]
    pub reference: String,
    /// The From address of the owner's email notice: the stack's EmailSender (the partner's own
    /// sender, if it has one, is used instead).
    #[arg(long, env = "EMAIL_SENDER")]
    pub email_sender: String,
    /// The stack's public base URL (PublicBaseUrl), as the notices' emails name it.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: String,
    /// The stack's SES configuration set, if it has one.
    #[arg(long, env = "SES_CONFIGURATION_SET")]
    pub ses_configuration_set: Option<String>,
    /// The stack's SMS sender id (SmsSenderId), if it has one.
    #[arg(long, env = "SMS_SENDER_ID")]
    pub sms_sender_id: Option<String>,
}

#[derive(Args)]
pub struct SumsubArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    /// off; sandbox (a sandbox partner: no call to Sumsub, its tests send the webhooks); live (a live
    /// partner: SDK tokens from Sumsub's API; a Sumsub sandbox app token `sbx:` is fine while integrating).
    #[arg(long, value_enum)]
    pub mode: SumsubModeArg,
    /// The Sumsub verification level users go through (its name in Sumsub's dashboard).
    #[arg(long)]
    pub level: Option<String>,
    /// The Sumsub app token (live mode).
    #[arg(long)]
    pub app_token: Option<String>,
    /// Read the Sumsub app token's secret key from the first line of standard input (live mode), so
    /// it is never in the shell's history or the process list.
    #[arg(long)]
    pub app_secret_stdin: bool,
    /// Make a new webhook secret (printed once): the old one stops working within 5 minutes.
    #[arg(long, conflicts_with = "webhook_secret_stdin")]
    pub rotate_webhook_secret: bool,
    /// Read the webhook secret from standard input (after the app secret's line, if both) instead
    /// of making one: for a webhook whose secret key was set in Sumsub's dashboard. 32 characters
    /// at least.
    #[arg(long)]
    pub webhook_secret_stdin: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SumsubModeArg {
    Off,
    Sandbox,
    Live,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SecondFactor {
    Off,
    Optional,
    Required,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Policy {
    /// Seed 000: at least 8 characters with a digit and a letter (the default).
    Seed000,
    /// Seed 003: 8 to 32 characters with lower and upper case, a digit and a symbol.
    Seed003,
}

#[derive(Args)]
pub struct AddArgs {
    /// A display name, for people.
    #[arg(long)]
    pub name: String,
    /// The partner's id, a UUID; a new random one if not given.
    #[arg(long)]
    pub id: Option<String>,
    /// A sandbox partner: nothing is sent by SMS or email, every code is 12345, and tokens say
    /// `sandbox: true`. Fixed for the life of the partner: register a live partner separately.
    #[arg(long)]
    pub sandbox: bool,
    /// Countries whose numbers may get SMS, as ISO 3166 codes, comma-separated (GB,IE,DE).
    #[arg(long, value_delimiter = ',', required = true)]
    pub sms_countries: Vec<String>,
    /// SMS the partner may send per UTC day, across all its users.
    #[arg(long, default_value_t = 1000)]
    pub daily_sms_budget: u32,
    #[arg(long, value_enum, default_value = "seed000")]
    pub password_policy: Policy,
    /// Make a request-signing secret: every request must then carry X-Signature. The secret is
    /// printed once.
    #[arg(long)]
    pub signing_secret: bool,
    /// From address of the partner's emails (a verified SES identity); the deployment's if not given.
    #[arg(long)]
    pub email_sender: Option<String>,
    /// Where the partner's email links point (https://...); the deployment's if not given.
    #[arg(long)]
    pub public_base_url: Option<String>,
    /// Tell users by SMS or email when their account is signed in to from a new device.
    #[arg(long)]
    pub new_device_notices: bool,
    /// Second factors: off (no enrolment), optional (users may enrol), required (a user without
    /// one may only enrol, and sign out, until they do).
    #[arg(long, value_enum, default_value = "optional")]
    pub second_factor: SecondFactor,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// The partner's id (its X-Merchant-ID).
    pub id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Stop serving the partner's requests (403 PARTNER_DISABLED).
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Serve the partner's requests again.
    #[arg(long)]
    pub enable: bool,
    /// Replaces the list of countries whose numbers may get SMS (GB,IE,DE).
    #[arg(long, value_delimiter = ',')]
    pub sms_countries: Option<Vec<String>>,
    #[arg(long)]
    pub daily_sms_budget: Option<u32>,
    #[arg(long, value_enum)]
    pub password_policy: Option<Policy>,
    /// Make a new signing secret (printed once); the old one stops working at once.
    #[arg(long, conflicts_with = "remove_signing_secret")]
    pub rotate_signing_secret: bool,
    /// Stop requiring X-Signature.
    #[arg(long)]
    pub remove_signing_secret: bool,
    #[arg(long, conflicts_with = "clear_email_sender")]
    pub email_sender: Option<String>,
    /// Use the deployment's From address again.
    #[arg(long)]
    pub clear_email_sender: bool,
    #[arg(long, conflicts_with = "clear_public_base_url")]
    pub public_base_url: Option<String>,
    /// Use the deployment's link base URL again.
    #[arg(long)]
    pub clear_public_base_url: bool,
    /// Tell users when their account is signed in to from a new device: on or off.
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    pub new_device_notices: Option<bool>,
    /// Second factors: off, optional or required. A factor a user enrolled is asked for under
    /// every policy: turning it down never stops checking one.
    #[arg(long, value_enum)]
    pub second_factor: Option<SecondFactor>,
    /// The partner calls from its backend and signs each end user's address (X-End-User-Address):
    /// the per-IP limits count that address. On or off; on needs a signing secret.
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    pub forwards_end_user_address: Option<bool>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_webhook_endpoint_takes_a_url_event_types_and_the_key_and_masks_contact_unless_asked() {
        let cli = Cli::try_parse_from([
            "partners",
            "webhooks",
            "add",
            "p-1",
            "--url",
            "https://hooks.example.com/r",
            "--events",
            "account.deleted,account.phone_changed",
            "--notify",
            "ops@partner.example.com",
            "--factor-key",
            "arn:aws:kms:eu-west-2:111122223333:key/k",
        ])
        .unwrap();
        let Command::Webhooks(super::WebhooksCommand::Add(add)) = cli.command else { panic!("not webhooks add") };
        assert_eq!(add.events, ["account.deleted", "account.phone_changed"]);
        assert!(!add.full_contact);
        assert!(Cli::try_parse_from(["partners", "webhooks", "remove", "p-1"]).is_err(), "remove names the endpoint");
    }

    #[test]
    fn a_replay_names_one_event_or_a_start_never_both_and_an_end_only_with_a_start() {
        let replay = |args: &[&str]| {
            let mut all = vec!["partners", "webhooks", "replay", "p-1", "--queue-url", "https://sqs/q.fifo"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        if let Err(error) = replay(&["--event", "evt_01"]) {
            panic!("{error}");
        }
        assert!(replay(&["--since", "2026-12-01T00:00:00Z", "--until", "2026-12-02T00:00:00Z"]).is_ok());
        assert!(replay(&[]).is_err(), "nothing to replay");
        assert!(replay(&["--event", "evt_01", "--since", "2026-12-01T00:00:00Z"]).is_err(), "both");
        assert!(replay(&["--event", "evt_01", "--until", "2026-12-01T00:00:00Z"]).is_err(), "an end alone");
    }

    #[test]
    fn countries_split_on_commas_and_sandbox_is_a_flag() {
        let cli = Cli::try_parse_from([
            "partners",
            "--table",
            "t",
            "add",
            "--name",
            "A",
            "--sandbox",
            "--sms-countries",
            "GB,ie",
        ])
        .unwrap();
        let Command::Add(add) = cli.command else { panic!("not add") };
        assert_eq!(add.sms_countries, ["GB", "ie"]);
        assert!(add.sandbox);
        assert!(Cli::try_parse_from(["partners", "update", "x", "--enable", "--disable"]).is_err());
        assert!(Cli::try_parse_from(["partners", "add", "--name", "A"]).is_err(), "countries are required");
        let cli = Cli::try_parse_from([
            "partners",
            "sumsub",
            "x",
            "--mode",
            "live",
            "--level",
            "basic",
            "--app-secret-stdin",
        ]);
        assert!(matches!(cli.map(|c| c.command), Ok(Command::Sumsub(_))));
        assert!(Cli::try_parse_from(["partners", "sumsub", "x"]).is_err(), "the mode is required");
        assert!(
            Cli::try_parse_from([
                "partners",
                "sumsub",
                "x",
                "--mode",
                "live",
                "--rotate-webhook-secret",
                "--webhook-secret-stdin"
            ])
            .is_err()
        );
    }
}
