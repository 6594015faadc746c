//! Email through SES v2 `SendEmail`, with an HTML and a plain-text part.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::domain::email::EmailAddress;
use crate::ports::{EmailMessage, EmailSender, SendError};

#[derive(Clone)]
pub struct SesEmailSender {
    client: Client,
    from: String,
    /// The stage's configuration set: its event destination counts bounces and complaints, and its
    /// suppression list stops mail to addresses that bounced or complained.
    configuration_set: Option<String>,
}

impl SesEmailSender {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        SesEmailSender { client, from: from.into(), configuration_set: None }
    }

    pub fn with_configuration_set(mut self, name: Option<String>) -> Self {
        self.configuration_set = name;
        self
    }
}

fn content(data: &str) -> Result<Content, SendError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| SendError(e.to_string()))
}

#[async_trait]
impl EmailSender for SesEmailSender {
    async fn send(&self, to: &EmailAddress, message: &EmailMessage) -> Result<(), SendError> {
        let body = Body::builder().html(content(&message.html)?).text(content(&message.text)?).build();
        let email = Message::builder().subject(content(&message.subject)?).body(body).build();
        self.client
            .send_email()
            .from_email_address(message.from.as_deref().unwrap_or(&self.from))
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(email).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            // Only the error's code: the SDK's full text could echo the request, link included.
            .map_err(|e| {
                SendError(format!(
                    "SES SendEmail failed: {}",
                    aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e).unwrap_or("dispatch")
                ))
            })
    }
}
