//! Everything a handler needs, built once per cold start and shared by every invocation.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::adapters::dynamodb::DynamoAccountStore;
use crate::adapters::sns::SnsSmsSender;
use crate::config::{Config, ConfigError, Environment};
use crate::domain::password_policy::PasswordPolicy;
use crate::domain::sms_limits::SmsLimits;
use crate::ports::{AccountStore, Clock, SmsSender, SystemClock};
use crate::security::code::CodeMac;
use crate::security::password_hash::PasswordHasher;

pub struct App {
    pub store: Arc<dyn AccountStore>,
    pub sms: Arc<dyn SmsSender>,
    pub clock: Arc<dyn Clock>,
    pub code_mac: CodeMac,
    pub hasher: PasswordHasher,
    pub policy: PasswordPolicy,
    pub sms_limits: SmsLimits,
}

impl App {
    pub fn new(store: Arc<dyn AccountStore>, sms: Arc<dyn SmsSender>, clock: Arc<dyn Clock>, pepper: &[u8]) -> Self {
        App {
            store,
            sms,
            clock,
            code_mac: CodeMac::new(pepper),
            hasher: PasswordHasher::default(),
            policy: PasswordPolicy::default(),
            sms_limits: SmsLimits::default(),
        }
    }

    /// Production wiring: config from the environment, SDK clients from the default chain.
    /// `AWS_ENDPOINT_URL`, which the SDK honours, points the same binary at a local emulator.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::load(&Environment)?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(App::from_sdk(&sdk, &config))
    }

    /// The real adapters on one SDK configuration, with the system clock.
    pub fn from_sdk(sdk: &SdkConfig, config: &Config) -> Self {
        let store = DynamoAccountStore::new(aws_sdk_dynamodb::Client::new(sdk), config.table_name.clone());
        let sms = SnsSmsSender::new(aws_sdk_sns::Client::new(sdk), config.sms_sender_id.clone());
        App::new(Arc::new(store), Arc::new(sms), Arc::new(SystemClock), &config.code_pepper)
    }
}
