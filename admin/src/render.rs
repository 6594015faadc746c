//! How partners are printed: aligned text for people; a secret only on the one run that made it.

use registration::domain::partner::{Partner, SigningSecret};

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
        ("created at", partner.created_at.to_string()),
        ("updated at", partner.updated_at.to_string()),
    ] {
        out.push_str(&format!("{name:<17} {value}\n"));
    }
    if let Some(secret) = new_secret {
        out.push_str(&format!("\nSigning secret (store it now; it is not shown again):\n{}\n", secret.expose()));
    }
    out
}

pub fn list(partners: &[Partner]) -> String {
    if partners.is_empty() {
        return "No partners yet. Add one with: partners add --name <name> --sms-countries <GB,...>\n".to_owned();
    }
    let mut out = format!(
        "{:<36}  {:<7}  {:<8}  {:<6}  {:<8}  {:<12}  {}\n",
        "ID", "MODE", "STATUS", "SIGNED", "BUDGET", "COUNTRIES", "NAME"
    );
    for p in partners {
        out.push_str(&format!(
            "{:<36}  {:<7}  {:<8}  {:<6}  {:<8}  {:<12}  {}\n",
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
