//! Everything a handler needs, built once per cold start and shared by every invocation.

use std::sync::Arc;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::adapters::call_limits;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::factor_sealer::KmsSecretSealer;
use crate::adapters::https::{self, TrustRoots};
use crate::adapters::kms::{self, KmsSigner};
use crate::adapters::partner_secrets::SecretsManagerPartnerSecrets;
use crate::adapters::secrets;
use crate::adapters::ses::SesEmailSender;
use crate::adapters::sns::SnsSmsSender;
use crate::adapters::sqs::SqsDeliveryQueue;
use crate::adapters::sumsub;
use crate::adapters::webhook_https::HttpsPoster;
use crate::admission::directory::PartnerDirectory;
use crate::admission::rate_limit::RateLimits;
use crate::config::{Config, ConfigError, Environment, Source, TokenSettings, code_pepper_secret, trust_roots};
use crate::domain::send_limits::SendLimits;
use crate::handlers::webhook_deliver::Deliverer;
use crate::latency::SendLatencies;
use crate::mail::Mailer;
use crate::ports::{
    AccountDeletions, AccountStore, Clock, Counters, DeliveryQueue, EmailSender, NoSealer, PartnerRegistry,
    PartnerSecrets, SecretSealer, SmsSender, SumsubApi, SystemClock, WebhookPoster,
};
use crate::security::code::CodeMac;
use crate::security::password_hash::PasswordHasher;
use crate::security::tokens::{TokenIssuer, TokenKeys};
use zeroize::Zeroizing;

/// What the two Sumsub functions call: Sumsub's API, and where the partners' secrets for it are.
#[derive(Clone)]
pub struct SumsubClients {
    pub api: Arc<dyn SumsubApi>,
    pub secrets: Arc<dyn PartnerSecrets>,
}

/// What the webhook functions call: the table (the outbox and the endpoints), the delivery queue,
/// KMS for the endpoints' secrets (the deliverer only) and the HTTPS poster.
pub struct WebhookClients {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<dyn DeliveryQueue>,
    pub sealer: Arc<dyn SecretSealer>,
    /// Whether `sealer` opens webhook secrets (the function was given the key).
    pub opens_secrets: bool,
    pub poster: Arc<dyn WebhookPoster>,
    /// Tells an endpoint's contact it was disabled (`EMAIL_SENDER` set: the deliverer's).
    pub notices: Option<Arc<dyn EmailSender>>,
    pub clock: Arc<dyn Clock>,
}

impl WebhookClients {
    pub fn deliverer(&self) -> Deliverer<'_> {
        Deliverer {
            outbox: self.store.as_ref(),
            accounts: self.store.as_ref(),
            endpoints: self.store.as_ref(),
            log: self.store.as_ref(),
            queue: self.queue.as_ref(),
            sealer: self.sealer.as_ref(),
            poster: self.poster.as_ref(),
            notices: self.notices.as_deref(),
            clock: self.clock.as_ref(),
        }
    }
}

pub struct App {
    pub store: Arc<dyn AccountStore>,
    pub sms: Arc<dyn SmsSender>,
    pub clock: Arc<dyn Clock>,
    pub code_mac: CodeMac,
    pub hasher: PasswordHasher,
    /// The partner registry, cached per process.
    pub partners: PartnerDirectory,
    /// Per-IP windows and daily SMS budgets.
    pub counters: Arc<dyn Counters>,
    /// Deleting accounts (the same table; apart so tests can fail it between its steps).
    pub deletions: Arc<dyn AccountDeletions>,
    pub rate_limits: RateLimits,
    /// How long each endpoint's slowest path takes here, so its other paths can take as long.
    pub send_latency: SendLatencies,
    pub send_limits: SendLimits,
    /// Opens (and, for enrolment, seals) second-factor secrets; `NoSealer` where no factor key is given.
    pub sealer: Arc<dyn SecretSealer>,
}

impl App {
    /// One table holds accounts, partners, counters and deletion records: `store` implements every port.
    pub fn new<S>(store: Arc<S>, sms: Arc<dyn SmsSender>, clock: Arc<dyn Clock>, pepper: &[u8]) -> Self
    where
        S: AccountStore + PartnerRegistry + Counters + AccountDeletions + 'static,
    {
        App {
            store: store.clone(),
            partners: PartnerDirectory::new(store.clone()),
            deletions: store.clone(),
            counters: store,
            rate_limits: RateLimits::default(),
            sms,
            clock,
            code_mac: CodeMac::new(pepper),
            hasher: PasswordHasher::default(),
            send_latency: SendLatencies::default(),
            send_limits: SendLimits::default(),
            sealer: Arc::new(NoSealer),
        }
    }

    /// Production wiring: config from the environment, SDK clients from the default chain.
    /// `AWS_ENDPOINT_URL`, which the SDK honours, points the same binary at a local emulator.
    /// The code pepper is read from Secrets Manager where `CODE_PEPPER_SECRET_ARN` names it.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = App::sdk_config().await?;
        let config = App::config(&sdk, &Environment).await?;
        Ok(App::from_sdk(&sdk, &config))
    }

    /// `Config::load`, with the pepper read from Secrets Manager if this function is given one.
    pub async fn config(sdk: &SdkConfig, source: &impl Source) -> Result<Config, ConfigError> {
        let mut config = Config::load(source)?;
        if let Some(arn) = code_pepper_secret(source)? {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            config.code_pepper = Some(secrets::code_pepper(&client, &arn).await?);
        }
        Ok(config)
    }

    /// What mints access tokens: the KMS key `SIGNING_KEY_ARN` names, whose public half leads
    /// `TOKEN_PUBLIC_KEYS`; nothing is read from KMS until the first token is signed. In the sealed
    /// mode (`SEALED_SIGNING_KEY`), the key KMS opens here, once, which then signs in the process.
    pub async fn token_issuer(sdk: &SdkConfig, source: &impl Source) -> Result<TokenIssuer, ConfigError> {
        let settings = TokenSettings::load(source)?;
        let arn = settings.signing_key_arn.ok_or(ConfigError::Missing("SIGNING_KEY_ARN"))?;
        let mut keys = settings.public_keys.into_iter();
        let current = keys.next().ok_or(ConfigError::Missing("TOKEN_PUBLIC_KEYS"))?;
        let client = aws_sdk_kms::Client::new(sdk);
        let signer: Arc<dyn crate::ports::TokenSigner> = match &settings.sealed_signing_key {
            Some(sealed) => Arc::new(kms::open_sealed_key(&client, &arn, sealed, &current).await?),
            None => Arc::new(KmsSigner::new(client, &arn, current)),
        };
        Ok(TokenIssuer::new(signer, settings.issuer, settings.audience).with_previous(keys.collect()))
    }

    /// What verifies access tokens: the public keys the deploy hands over in `TOKEN_PUBLIC_KEYS`.
    /// Public by nature, so a parameter may carry them; no AWS call at init.
    pub fn token_keys(source: &impl Source) -> Result<TokenKeys, ConfigError> {
        let settings = TokenSettings::load(source)?;
        Ok(TokenKeys::new(settings.public_keys, settings.issuer, settings.audience))
    }

    /// Sumsub's API at `SUMSUB_API_URL` (Sumsub's own host if unset) and the partners' credentials
    /// in Secrets Manager. Nothing is read until a request needs it.
    pub fn sumsub(sdk: &SdkConfig, source: &impl Source) -> Result<SumsubClients, ConfigError> {
        let base_url = source.get("SUMSUB_API_URL").unwrap_or_else(|| sumsub::DEFAULT_BASE_URL.to_owned());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://127.0.0.1:")) {
            return Err(ConfigError::Invalid { name: "SUMSUB_API_URL", why: "must be an https:// URL".into() });
        }
        let api =
            sumsub::SumsubHttp::new(&base_url).map_err(|why| ConfigError::Invalid { name: "SUMSUB_API_URL", why })?;
        let secrets = SecretsManagerPartnerSecrets::new(aws_sdk_secretsmanager::Client::new(sdk));
        Ok(SumsubClients { api: Arc::new(api), secrets: Arc::new(secrets) })
    }

    /// The webhook functions' clients: the table (`TABLE_NAME`), the delivery queue
    /// (`WEBHOOK_QUEUE_URL`), and where the function is given the key (`FACTOR_KEY_ARN`), KMS
    /// opening webhook secrets under their own purpose. Nothing is read at init.
    pub fn webhooks(sdk: &SdkConfig, source: &impl Source) -> Result<WebhookClients, ConfigError> {
        let table = source.get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let queue_url = source.get("WEBHOOK_QUEUE_URL").ok_or(ConfigError::Missing("WEBHOOK_QUEUE_URL"))?;
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table));
        let queue = Arc::new(SqsDeliveryQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url));
        let key = source.get("FACTOR_KEY_ARN");
        let sealer: Arc<dyn SecretSealer> = match &key {
            Some(arn) => Arc::new(KmsSecretSealer::for_webhooks(aws_sdk_kms::Client::new(sdk), arn)),
            None => Arc::new(NoSealer),
        };
        Ok(WebhookClients {
            store,
            queue,
            sealer,
            opens_secrets: key.is_some(),
            poster: Arc::new(HttpsPoster::new()),
            notices: source.get("EMAIL_SENDER").map(|from| {
                let sender = SesEmailSender::new(aws_sdk_sesv2::Client::new(sdk), from)
                    .with_configuration_set(source.get("SES_CONFIGURATION_SET"));
                Arc::new(sender) as Arc<dyn EmailSender>
            }),
            clock: Arc::new(SystemClock),
        })
    }

    /// The SDK configuration from the default chain (and `AWS_ENDPOINT_URL`), loaded once.
    pub async fn sdk_config() -> Result<SdkConfig, ConfigError> {
        Ok(App::sdk_loader()?.load().await)
    }

    /// The SDK loader every function uses: the HTTPS client that `AWS_TRUST_ROOTS` chooses, every
    /// call bounded by `call_limits`.
    pub fn sdk_loader() -> Result<ConfigLoader, ConfigError> {
        let loader = call_limits::bounded(aws_config::defaults(BehaviorVersion::latest()));
        Ok(match trust_roots(&Environment)? {
            TrustRoots::AmazonTrustServices => loader.http_client(https::amazon_trust_services_client()),
            TrustRoots::System => loader,
        })
    }

    /// The email sender on SES: `EMAIL_SENDER` is the From address, `PUBLIC_BASE_URL` where links point,
    /// `SES_CONFIGURATION_SET` (optional) the configuration set every message goes through.
    pub fn mailer(sdk: &SdkConfig, source: &impl Source) -> Result<Mailer, ConfigError> {
        let from = source.get("EMAIL_SENDER").ok_or(ConfigError::Missing("EMAIL_SENDER"))?;
        let base = source.get("PUBLIC_BASE_URL").ok_or(ConfigError::Missing("PUBLIC_BASE_URL"))?;
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ConfigError::Invalid { name: "PUBLIC_BASE_URL", why: "must be an http(s) URL".into() });
        }
        let sender = SesEmailSender::new(aws_sdk_sesv2::Client::new(sdk), from)
            .with_configuration_set(source.get("SES_CONFIGURATION_SET"));
        Ok(Mailer::new(Arc::new(sender), &base))
    }

    /// The real adapters on one SDK configuration, with the system clock.
    pub fn from_sdk(sdk: &SdkConfig, config: &Config) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), config.table_name.clone());
        let sms = SnsSmsSender::new(aws_sdk_sns::Client::new(sdk), config.sms_sender_id.clone());
        // A function given no pepper seals and checks no codes; a random one makes any code it did
        // seal unverifiable everywhere, never guessable.
        let unshared = Zeroizing::new(crate::security::random::bytes::<32>().to_vec());
        let mut app = App::new(Arc::new(store), Arc::new(sms), Arc::new(SystemClock), &unshared);
        if let Some(peppers) = &config.code_pepper {
            app.code_mac = CodeMac::rotating(peppers);
        }
        app.rate_limits = config.rate_limits;
        if let Some(arn) = &config.factor_key_arn {
            app.sealer = Arc::new(KmsSecretSealer::new(aws_sdk_kms::Client::new(sdk), arn));
        }
        app
    }
}
