//! Partners the tests register in their table, and helpers to change them.

use registration::domain::partner::{CountryCode, Partner, PartnerStatus, PolicyName};

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
        created_at: 1,
        updated_at: 1,
    }
}

pub fn sandbox(id: &str) -> Partner {
    Partner { sandbox: true, name: "Test sandbox".into(), ..live(id, PolicyName::Seed000) }
}
