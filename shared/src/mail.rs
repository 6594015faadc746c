//! Email the service sends: rendered from templates (HTML and plain text, auto-escaped HTML) by
//! minijinja, and the confirmation link built from the configured public base URL.

use std::sync::{Arc, LazyLock};

use minijinja::{Environment, context};

use crate::domain::email::EmailAddress;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::ports::{EmailMessage, EmailSender};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("email_confirm.html", include_str!("../templates/email_confirm.html")),
        ("email_confirm.txt", include_str!("../templates/email_confirm.txt")),
        ("email_in_use.html", include_str!("../templates/email_in_use.html")),
        ("email_in_use.txt", include_str!("../templates/email_in_use.txt")),
        ("layout.html", include_str!("../templates/layout.html")),
        ("deletion.html", include_str!("../templates/deletion.html")),
        ("page.html", include_str!("../templates/page.html")),
        ("reset_code.html", include_str!("../templates/reset_code.html")),
        ("reset_code.txt", include_str!("../templates/reset_code.txt")),
        ("security_notice.html", include_str!("../templates/security_notice.html")),
        ("security_notice.txt", include_str!("../templates/security_notice.txt")),
        ("signup_code.html", include_str!("../templates/signup_code.html")),
        ("signup_code.txt", include_str!("../templates/signup_code.txt")),
        ("signup_existing.html", include_str!("../templates/signup_existing.html")),
        ("signup_existing.txt", include_str!("../templates/signup_existing.txt")),
        ("webhook_disabled.html", include_str!("../templates/webhook_disabled.html")),
        ("webhook_disabled.txt", include_str!("../templates/webhook_disabled.txt")),
    ] {
        // The templates are compiled into the binary; a broken one fails every test that renders it.
        #[allow(clippy::expect_used)]
        env.add_template(name, source).expect("bundled template parses");
    }
    env
});

fn render(name: &str, ctx: minijinja::Value) -> Result<String, ApiError> {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| ApiError::Internal(format!("template {name}: {e}")))
}

/// The origin of an absolute URL, lower-cased and without the scheme's default port, as a browser
/// writes it in `Origin`; `None` for anything that is not an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{host}"))
}

/// Sends the service's emails and knows where the links point.
#[derive(Clone)]
pub struct Mailer {
    pub sender: Arc<dyn EmailSender>,
    public_base_url: String,
}

impl Mailer {
    pub fn new(sender: Arc<dyn EmailSender>, public_base_url: &str) -> Self {
        Mailer { sender, public_base_url: public_base_url.trim_end_matches('/').to_owned() }
    }

    /// The origins (`scheme://host[:port]`) the service's pages are published under for `partner`:
    /// the service's public base URL and the partner's own, if it has one.
    pub fn page_origins(&self, partner: &Partner) -> Vec<String> {
        [Some(self.public_base_url.as_str()), partner.public_base_url.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(origin_of)
            .collect()
    }

    /// The link in a confirmation email: under the partner's own base URL if it has one.
    pub fn confirmation_link(&self, partner: &Partner, token: &str) -> String {
        let base =
            partner.public_base_url.as_deref().map_or(self.public_base_url.as_str(), |b| b.trim_end_matches('/'));
        format!("{base}/v2/mobile/email/confirm?token={token}")
    }

    pub fn confirmation(&self, partner: &Partner, email: &EmailAddress, token: &str) -> Result<EmailMessage, ApiError> {
        let ctx = context! { email => email.as_str(), link => self.confirmation_link(partner, token) };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: "Confirm your email address".to_owned(),
            html: render("email_confirm.html", ctx.clone())?,
            text: render("email_confirm.txt", ctx)?,
        })
    }

    /// For the owner of an address someone else tried to add: no link, nothing to do.
    pub fn already_in_use(&self, partner: &Partner, email: &EmailAddress) -> Result<EmailMessage, ApiError> {
        let ctx = context! { email => email.as_str() };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: "Your email address was entered elsewhere".to_owned(),
            html: render("email_in_use.html", ctx.clone())?,
            text: render("email_in_use.txt", ctx)?,
        })
    }
}

impl Mailer {
    /// The code that finishes an email-first signup (seed 003). The code leads the subject, so mail
    /// apps can offer it without the message being opened.
    pub fn signup_code(&self, partner: &Partner, email: &EmailAddress, code: &str) -> Result<EmailMessage, ApiError> {
        let ctx = context! { email => email.as_str(), code => code };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: format!("{code} is your verification code"),
            html: render("signup_code.html", ctx.clone())?,
            text: render("signup_code.txt", ctx)?,
        })
    }

    /// A password reset code for an account's confirmed address; the code leads the subject too.
    pub fn reset_code(&self, partner: &Partner, email: &EmailAddress, code: &str) -> Result<EmailMessage, ApiError> {
        let ctx = context! { email => email.as_str(), code => code };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: format!("{code} is your password reset code"),
            html: render("reset_code.html", ctx.clone())?,
            text: render("reset_code.txt", ctx)?,
        })
    }

    /// For the owner of an address someone tried to sign up with again: no code, nothing to do.
    pub fn signup_existing(&self, partner: &Partner, email: &EmailAddress) -> Result<EmailMessage, ApiError> {
        let ctx = context! { email => email.as_str() };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: "Someone tried to create an account with your email address".to_owned(),
            html: render("signup_existing.html", ctx.clone())?,
            text: render("signup_existing.txt", ctx)?,
        })
    }
}

/// What a security notice says: what happened, and what to do if it was not the owner.
pub struct NoticeText<'a> {
    pub subject: &'a str,
    pub what: &'a str,
    pub when: &'a str,
    pub advice: &'a str,
}

impl Mailer {
    /// A security notice (password, phone or address changed, a new sign-in): no code, no link.
    pub fn security_notice(
        &self,
        partner: &Partner,
        email: &EmailAddress,
        notice: &NoticeText<'_>,
    ) -> Result<EmailMessage, ApiError> {
        let ctx = context! {
            email => email.as_str(),
            subject => notice.subject,
            what => notice.what,
            when => notice.when,
            advice => notice.advice,
        };
        Ok(EmailMessage {
            from: partner.email_sender.clone(),
            subject: notice.subject.to_owned(),
            html: render("security_notice.html", ctx.clone())?,
            text: render("security_notice.txt", ctx)?,
        })
    }
}

/// The notice to a partner's contact that its webhook endpoint was disabled at `at` (Unix seconds),
/// saying why and how to start it again without losing an event. From the deployment's sender.
pub fn webhook_disabled(
    endpoint: &crate::webhooks::endpoints::WebhookEndpoint,
    reason: &str,
    at: i64,
) -> Result<EmailMessage, ApiError> {
    use crate::domain::utc_time::UtcTime;
    let subject = format!("Webhook endpoint disabled: {}", endpoint.url.as_str());
    let ctx = context! {
        subject => subject.as_str(),
        url => endpoint.url.as_str(),
        endpoint => endpoint.id.as_str(),
        partner => endpoint.partner_id.as_str(),
        when => UtcTime(at).rfc3339(),
        reason => reason,
        // Four days back: the three days of the failing event's retries, its last wait (at most
        // 11 hours) and the stream's lag; a receiver drops what it already has by webhook-id.
        replay_from => UtcTime(at - 4 * 86_400).rfc3339(),
    };
    Ok(EmailMessage {
        from: None,
        subject,
        html: render("webhook_disabled.html", ctx.clone())?,
        text: render("webhook_disabled.txt", ctx)?,
    })
}

/// A small page for a person in a browser.
pub fn page(ok: bool, title: &str, message: &str, next: Option<&str>) -> Result<String, ApiError> {
    render("page.html", context! { ok => ok, title => title, message => message, next => next })
}

/// Which form the account deletion page shows, if any.
pub enum DeletionStep<'a> {
    /// Ask for the phone number.
    Phone,
    /// Ask for the SMS code sent to this phone (as typed, carried in a hidden field).
    Code(&'a str),
    /// Nothing to fill in: done, or a problem with a way back.
    None,
}

/// The web page where a person asks for their account to be deleted without the app (Google Play's
/// account deletion link): a phone form, then a code form, then the outcome.
pub fn deletion_page(
    ok: bool,
    done: bool,
    title: &str,
    message: &str,
    next: Option<&str>,
    step: DeletionStep<'_>,
) -> Result<String, ApiError> {
    let (step, phone) = match step {
        DeletionStep::Phone => ("phone", None),
        DeletionStep::Code(phone) => ("code", Some(phone)),
        DeletionStep::None => ("none", None),
    };
    let ctx = context! { ok => ok, done => done, title => title, message => message, next => next, step => step, phone => phone };
    render("deletion.html", ctx)
}

/// The page the link opens: one button that POSTs the token back to the same address. Opening it
/// (as mail scanners do) confirms nothing.
pub fn confirm_button_page(token: &str) -> Result<String, ApiError> {
    let ctx = context! {
        ok => true,
        title => "Confirm your email address",
        message => "Press the button to confirm this address for your account.",
        confirm_token => token,
    };
    render("page.html", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SendError;

    struct Nobody;

    #[async_trait::async_trait]
    impl EmailSender for Nobody {
        async fn send(&self, _: &EmailAddress, _: &EmailMessage) -> Result<(), SendError> {
            Ok(())
        }
    }

    #[test]
    fn confirmation_has_both_parts_with_the_link() {
        let mailer = Mailer::new(Arc::new(Nobody), "https://auth.example.com/");
        let email = EmailAddress::parse("ana@example.com").unwrap();
        let partner = crate::domain::partner::test_partner();
        let message = mailer.confirmation(&partner, &email, "tok123").unwrap();
        assert_eq!(message.from, None);
        let link = "https://auth.example.com/v2/mobile/email/confirm?token=tok123";
        assert!(message.text.contains(link));
        // The HTML part escapes '/' as &#x2f;, which browsers read back as '/'.
        assert!(message.html.replace("&#x2f;", "/").contains(&format!("href=\"{link}\"")));
        assert!(message.html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn a_partner_can_have_its_own_sender_and_link_host() {
        let mailer = Mailer::new(Arc::new(Nobody), "https://auth.example.com");
        let mut partner = crate::domain::partner::test_partner();
        partner.email_sender = Some("hello@shop.example".into());
        partner.public_base_url = Some("https://id.shop.example/".into());
        let message = mailer.confirmation(&partner, &EmailAddress::parse("ana@example.com").unwrap(), "t1").unwrap();
        assert_eq!(message.from.as_deref(), Some("hello@shop.example"));
        assert!(message.text.contains("https://id.shop.example/v2/mobile/email/confirm?token=t1"));
    }

    #[test]
    fn the_signup_code_is_in_subject_and_both_parts_and_the_notice_has_none() {
        let mailer = Mailer::new(Arc::new(Nobody), "https://auth.example.com");
        let partner = crate::domain::partner::test_partner();
        let email = EmailAddress::parse("ana@example.com").unwrap();
        let message = mailer.signup_code(&partner, &email, "042917").unwrap();
        assert!(message.subject.starts_with("042917 "));
        assert!(message.text.contains("042917") && message.html.contains("042917"));
        let notice = mailer.signup_existing(&partner, &email).unwrap();
        assert!(!notice.text.chars().any(|c| c.is_ascii_digit()), "{}", notice.text);
        assert!(notice.text.contains("ana@example.com"));
    }

    #[test]
    fn the_link_page_posts_the_token_with_a_button_and_no_script() {
        let html = confirm_button_page("tok\"en").unwrap();
        assert!(html.contains("<form method=\"post\" action=\"\">"), "{html}");
        assert!(html.contains("name=\"token\" value=\"tok&quot;en\""), "{html}");
        assert!(html.contains("<button type=\"submit\">"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = page(false, "Link expired", "<script>alert(1)</script>", None).unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
