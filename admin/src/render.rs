//! How partners are printed: aligned text for people; a secret only on the one run that made it.

use registration::domain::partner::{Partner, SigningSecret};
use registration::domain::utc_time::UtcTime;
use registration::handlers::support::SupportRemoval;
use registration::ports::{DeletionRecord, FactorRemovalRecord};

fn mode(partner: &Partner) -> &'static str {
    if partner.sandbox { "sandbox" } else { "live" }
}

fn countries(partner: &Partner) -> String {
    partner.sms_countries.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
}

pub fn show(partner: &Partner, new_secret: Option<&SigningSecret>) -> String {
    let secret = match (new_secret, &partner.signing_secret) {
        (Some(_), _) => "set (printed below, once)",
        (None, Some(_)) => "set (not shown; rotate it with update --rotate-signing-secret)",
        (None, None) => "none (requests are not signed)",
    };
    let default = |value: &Option<String>| value.clone().unwrap_or_else(|| "(the deployment's)".to_owned());
    let mut out = String::new();
    for (name, value) in [
        ("id", partner.id.clone()),
        ("name", partner.name.clone()),
        ("mode", mode(partner).to_owned()),
        ("status", partner.status.as_str().to_owned()),
        ("password policy", partner.password_policy.as_str().to_owned()),
        ("sms countries", countries(partner)),
        ("daily sms budget", partner.daily_sms_budget.to_string()),
        ("signing secret", secret.to_owned()),
        ("email sender", default(&partner.email_sender)),
        ("public base url", default(&partner.public_base_url)),
        ("new device notices", if partner.new_device_notices { "on" } else { "off" }.to_owned()),
        ("second factor", partner.second_factor.as_str().to_owned()),
        ("forwards end-user addresses", if partner.forwards_end_user_address { "on" } else { "off" }.to_owned()),
        ("sumsub", sumsub(partner)),
        ("created at", partner.created_at.to_string()),
        ("updated at", partner.updated_at.to_string()),
    ] {
        out.push_str(&format!("{name:<19} {value}\n"));
    }
    if let Some(secret) = new_secret {
        out.push_str(&format!("\nSigning secret (store it now; it is not shown again):\n{}\n", secret.expose()));
    }
    out
}

/// Mode, level and the app token's first characters; never a secret.
fn sumsub(partner: &Partner) -> String {
    match &partner.sumsub {
        None => "off".to_owned(),
        Some(s) => match &s.app_token {
            Some(token) => {
                let start: String = token.chars().take(8).collect();
                format!("{} (level {}, app token {start}...)", s.mode.as_str(), s.level_name)
            }
            None => format!("{} (level {})", s.mode.as_str(), s.level_name),
        },
    }
}

/// `show`, then what to set in Sumsub's dashboard, with a new webhook secret printed this once.
pub fn show_sumsub(partner: &Partner, new_webhook_secret: Option<&str>) -> String {
    let mut out = show(partner, None);
    if partner.sumsub.is_some() {
        out.push_str(&format!(
            "\nSumsub webhook: target https://<your API>/v2/webhooks/sumsub/{}, signature algorithm SHA256,\n\
             types applicantReviewed and applicantPending.\n",
            partner.id
        ));
    }
    if let Some(secret) = new_webhook_secret {
        out.push_str(&format!(
            "\nWebhook secret key (store it now in Sumsub's dashboard; it is not shown again):\n{secret}\n"
        ));
    }
    out
}

pub fn list(partners: &[Partner]) -> String {
    if partners.is_empty() {
        return "No partners yet. Add one with: partners add --name <name> --sms-countries <GB,...>\n".to_owned();
    }
    let width = partners.iter().map(|p| countries(p).len()).max().unwrap_or(0).max("COUNTRIES".len());
    let mut out = format!(
        "{:<36}  {:<7}  {:<8}  {:<6}  {:<8}  {:<width$}  {}\n",
        "ID", "MODE", "STATUS", "SIGNED", "BUDGET", "COUNTRIES", "NAME"
    );
    for p in partners {
        out.push_str(&format!(
            "{:<36}  {:<7}  {:<8}  {:<6}  {:<8}  {:<width$}  {}\n",
            p.id,
            mode(p),
            p.status.as_str(),
            if p.signing_secret.is_some() { "yes" } else { "no" },
            p.daily_sms_budget,
            countries(p),
            p.name
        ));
    }
    out
}

/// A partner's deletion records: time (UTC), user id, channel.
pub fn deletions(records: &[DeletionRecord]) -> String {
    if records.is_empty() {
        return "No account deletions recorded (records are kept 3 years).\n".to_owned();
    }
    let mut out = format!("{:<20}  {:<36}  {}\n", "DELETED AT (UTC)", "USER ID", "CHANNEL");
    for r in records {
        out.push_str(&format!("{:<20}  {:<36}  {}\n", UtcTime(r.deleted_at).rfc3339(), r.user_id, r.channel.as_str()));
    }
    out
}

/// A support removal just made: its record, and what became of each notice to the owner.
pub fn support_removal(removal: &SupportRemoval) -> String {
    let mut out = factor_removals(std::slice::from_ref(&removal.record));
    out.push_str("\nEvery session of the account was ended. The owner's notices:\n");
    if removal.notices.is_empty() {
        out.push_str("  none: the account has no confirmed phone or address\n");
    }
    for notice in &removal.notices {
        out.push_str(&format!("  {notice}\n"));
    }
    out
}

/// A partner's support removals of second factors: time (UTC), user id, the partner's reference.
pub fn factor_removals(records: &[FactorRemovalRecord]) -> String {
    if records.is_empty() {
        return "No second factors removed by support (records are kept 3 years).\n".to_owned();
    }
    let mut out = format!("{:<20}  {:<36}  {}\n", "REMOVED AT (UTC)", "USER ID", "REFERENCE");
    for r in records {
        out.push_str(&format!("{:<20}  {:<36}  {}\n", UtcTime(r.removed_at).rfc3339(), r.user_id, r.reference));
    }
    out
}

#[cfg(test)]
mod tests {
    use registration::domain::partner::{CountryCode, PartnerStatus, PolicyName};

    use super::*;

    fn partner(id: &str, countries: &[&str], name: &str) -> Partner {
        Partner {
            id: id.into(),
            name: name.into(),
            status: PartnerStatus::Active,
            sandbox: false,
            password_policy: PolicyName::Seed000,
            sms_countries: countries.iter().map(|c| CountryCode::parse(c).unwrap()).collect(),
            daily_sms_budget: 5,
            signing_secret: Some(SigningSecret::generate()),
            email_sender: None,
            public_base_url: None,
            new_device_notices: false,
            second_factor: Default::default(),
            forwards_end_user_address: false,
            sumsub: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn list_keeps_names_aligned_and_show_never_prints_a_stored_secret() {
        let many = partner("6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b", &["DE", "ES", "FR", "GB", "IE", "IT"], "Many");
        let one = partner("bece038f-2e46-49f4-b25e-89cd38d6dc16", &["GB"], "One");
        let listing = list(&[many.clone(), one]);
        let starts: Vec<usize> = listing.lines().map(|l| l.rfind("  ").unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{listing}");
        let shown = show(&many, None);
        assert!(!shown.contains(many.signing_secret.as_ref().unwrap().expose()));
        let secret = SigningSecret::generate();
        assert!(show(&many, Some(&secret)).contains(secret.expose()));
    }

    #[test]
    fn deletions_list_time_user_and_channel_and_nothing_personal() {
        use registration::ports::DeletionChannel;
        let record = DeletionRecord {
            user_id: "0b3c5a6e-2f1d-4c8b-9a7e-6d5f4e3c2b1a".into(),
            merchant_id: "bece038f-2e46-49f4-b25e-89cd38d6dc16".into(),
            deleted_at: 1_796_200_283,
            channel: DeletionChannel::Web,
        };
        let out = deletions(&[record]);
        assert!(out.contains("2026-12-02T08:31:23Z  0b3c5a6e-2f1d-4c8b-9a7e-6d5f4e3c2b1a  web"), "{out}");
        assert!(deletions(&[]).starts_with("No account deletions"));
    }
}
