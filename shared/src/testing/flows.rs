//! The requests unit tests make, through the real handlers.

use lambda_http::Request;
use serde_json::{Value, json};

use super::TestApp;
use super::requests::{Reply, request};
use crate::handlers::{email_add, email_confirm, phone_confirm, profile_get, profile_update, signup, token};

/// Handlers never fail (they answer an envelope); a `Err` here is a bug in the test itself.
fn answered(result: Result<lambda_http::Response<lambda_http::Body>, std::convert::Infallible>) -> Reply {
    match result {
        Ok(response) => Reply::from(response),
        Err(never) => match never {},
    }
}

impl TestApp {
    pub async fn signup(&self, phone: &str, password: &str) -> Reply {
        let req =
            request(include_str!("../../../events/signup.json"), json!({ "phone": phone, "password": password }), &[]);
        answered(signup::handle(&self.app, req).await)
    }

    pub async fn confirm(&self, phone: &str, code: &str) -> Reply {
        let req =
            request(include_str!("../../../events/phone-confirm.json"), json!({ "phone": phone, "code": code }), &[]);
        answered(phone_confirm::handle(&self.app, &self.issuer, req).await)
    }

    /// Signs up and confirms; the token response.
    pub async fn registered(&self, phone: &str, password: &str) -> Reply {
        assert_eq!(self.signup(phone, password).await.status, 200);
        let tokens = self.confirm(phone, &self.latest_code(phone)).await;
        assert_eq!(tokens.status, 200, "{:?}", tokens.body);
        tokens
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Reply {
        let body = json!({ "grant_type": "password", "username": username, "password": password });
        self.token(request(include_str!("../../../events/token-password.json"), body, &[])).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = json!({ "grant_type": "refresh_token", "refresh_token": refresh_token });
        self.token(request(include_str!("../../../events/token-password.json"), body, &[])).await
    }

    async fn token(&self, req: Request) -> Reply {
        answered(token::handle(&self.app, &self.issuer, &self.mailer, req).await)
    }

    /// `GET /v2/customer/profile` for the token response `tokens`.
    pub async fn profile(&self, tokens: &Reply) -> Reply {
        let auth = bearer(tokens);
        let req = request(include_str!("../../../events/profile-get.json"), Value::Null, &[("authorization", &auth)]);
        answered(profile_get::handle(&self.app, &self.verifier, req).await)
    }

    pub async fn update_profile(&self, tokens: &Reply, details: Value) -> Reply {
        let auth = bearer(tokens);
        let req = request(include_str!("../../../events/profile-update.json"), details, &[("authorization", &auth)]);
        answered(profile_update::handle(&self.app, &self.verifier, req).await)
    }

    /// Adds `email` and presses the button of the link the email carries.
    pub async fn confirmed_email(&self, tokens: &Reply, email: &str) -> Reply {
        let auth = bearer(tokens);
        let req = request(
            include_str!("../../../events/email-add.json"),
            json!({ "email": email }),
            &[("authorization", &auth)],
        );
        assert_eq!(answered(email_add::handle(&self.app, &self.verifier, &self.mailer, req).await).status, 200);
        let token = self.link_token(email);
        let form = Value::String(format!("token={token}"));
        answered(
            email_confirm::handle(
                &self.app,
                &self.mailer,
                request(include_str!("../../../events/email-confirm-post.json"), form, &[]),
            )
            .await,
        )
    }

    /// The token of the latest link mailed to `email`.
    fn link_token(&self, email: &str) -> String {
        let mails = self.email.0.lock().unwrap_or_else(|e| e.into_inner());
        let text = mails.iter().rev().find(|(to, _)| to == email).map(|(_, m)| m.text.clone()).unwrap_or_default();
        let start = text.find("token=").map_or(text.len(), |at| at + "token=".len());
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
    }
}

/// `Bearer <access token>` of a token response.
pub fn bearer(tokens: &Reply) -> String {
    format!("Bearer {}", tokens.body["access_token"].as_str().unwrap_or_default())
}
