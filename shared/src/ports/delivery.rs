//! Sending a text message or an email.

use async_trait::async_trait;

use crate::domain::email::EmailAddress;
use crate::domain::phone::PhoneNumber;

#[derive(Debug, thiserror::Error)]
#[error("the message was not sent: {0}")]
pub struct SendError(pub String);

/// An email with an HTML and a plain-text part.
#[derive(Debug, Clone)]
pub struct EmailMessage {
    /// The partner's own From address; the deployment's when `None`.
    pub from: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Sends an email.
#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, to: &EmailAddress, message: &EmailMessage) -> Result<(), SendError>;
}

/// Sends a text message to a phone.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError>;
}
