//! SMS through SNS `Publish` to a phone number, as a transactional message (delivered first, even
//! to numbers that opted out of promotional SMS).

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::phone::PhoneNumber;
use crate::ports::{SendError, SmsSender};

#[derive(Clone)]
pub struct SnsSmsSender {
    client: Client,
    sender_id: Option<String>,
}

impl SnsSmsSender {
    pub fn new(client: Client, sender_id: Option<String>) -> Self {
        SnsSmsSender { client, sender_id }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError(e.to_string()))
}

#[async_trait]
impl SmsSender for SnsSmsSender {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError> {
        let mut publish = self
            .client
            .publish()
            .phone_number(to.e164())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender_id) = &self.sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender_id)?);
        }
        // Only the error's code goes into the message: the SDK's full text could echo the request.
        publish.send().await.map(|_| ()).map_err(|e| {
            let code = aws_sdk_sns::error::ProvideErrorMetadata::code(&e).unwrap_or("dispatch").to_owned();
            crate::metrics::count(crate::metrics::Counter::SmsNotSent);
            SendError(format!("SNS Publish failed: {code}"))
        })
    }
}
