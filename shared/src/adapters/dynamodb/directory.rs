//! Finding an account: by id, by the phone's claim, by the confirmed address's claim.

use async_trait::async_trait;

use super::items::*;
use super::table::DynamoStore;
use crate::domain::email::EmailAddress;
use crate::ports::{AccountRecord, Directory, PhoneClaim, PhoneKey, StoreError};

#[async_trait]
impl Directory for DynamoStore {
    async fn account(&self, user_id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get("GetItem account", key_for_account(user_id)).await?.as_ref().map(AccountRecord::try_from).transpose()
    }

    async fn phone_claim(&self, key: &PhoneKey) -> Result<Option<PhoneClaim>, StoreError> {
        self.get("GetItem claim", phone_key(key, CLAIM_SK)).await?.as_ref().map(PhoneClaim::try_from).transpose()
    }

    async fn email_owner(&self, merchant_id: &str, email: &EmailAddress) -> Result<Option<String>, StoreError> {
        let claim =
            self.get("GetItem email claim", item_key(email_claim_pk(merchant_id, email.as_str()), CLAIM_SK)).await?;
        claim.map(|item| get_s(&item, "userId")).transpose()
    }
}
