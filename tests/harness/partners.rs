//! Partners the tests register in their table, and helpers to change them.

use registration::domain::partner::{CountryCode, Partner, PartnerStatus, PolicyName};
use registration::domain::sumsub::{SumsubMode, SumsubSettings};

/// Countries the tests' live partners send to.
const COUNTRIES: &[&str] = &["GB", "IE", "FR", "US"];

pub fn live(id: &str, policy: PolicyName) -> Partner {
    Partner {
        id: id.to_owned(),
        name: format!("Test partner {}", &id[..8]),
        status: PartnerStatus::Active,
        sandbox: false,
        password_policy: policy,
        sms_countries: COUNTRIES.iter().map(|c| CountryCode::parse(c).expect("country")).collect(),
        daily_sms_budget: 100_000,
        signing_secret: None,
        email_sender: None,
        public_base_url: None,
        new_device_notices: false,
        second_factor: Default::default(),
        forwards_end_user_address: false,
        sumsub: None,
        created_at: 1,
        updated_at: 1,
    }
}

pub fn sandbox(id: &str) -> Partner {
    Partner { sandbox: true, name: "Test sandbox".into(), ..live(id, PolicyName::Seed000) }
}

/// The Sumsub level the tests' partners verify users at.
pub const SUMSUB_LEVEL: &str = "basic-kyc-level";

/// `partner` with Sumsub in `mode`, its credentials in the secret `credentials_arn`.
pub fn with_sumsub(partner: Partner, mode: SumsubMode, app_token: Option<&str>, credentials_arn: &str) -> Partner {
    let sumsub = SumsubSettings {
        mode,
        level_name: SUMSUB_LEVEL.into(),
        app_token: app_token.map(str::to_owned),
        credentials_arn: credentials_arn.to_owned(),
    };
    Partner { sumsub: Some(sumsub), ..partner }
}
