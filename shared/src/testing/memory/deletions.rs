//! Deleting an account, in memory: the same two steps and conditions as the DynamoDB adapter.

use async_trait::async_trait;

use super::{MemoryStore, code_id, email_id, identifier_id, phone_id, require};
use crate::domain::email::EmailAddress;
use crate::domain::phone::PhoneNumber;
use crate::ports::*;
use crate::security::code::CodePurpose;
use crate::webhooks::event::{AccountEvent, EventRecord};

#[async_trait]
impl AccountDeletions for MemoryStore {
    async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.sessions.retain(|(user, _), _| user != user_id);
        state.refresh.retain(|_, token| token.user_id != user_id);
        state.email_tokens.retain(|_, token| token.user_id != user_id);
        // The codes the DynamoDB adapter finds by the account's index: phone add and change codes
        // (and decoys) that are still the account's, under any number.
        let filed = [CodePurpose::PhoneAdd, CodePurpose::PhoneChange].map(|p| format!("#{}", p.as_str()));
        state.codes.retain(|key, code| code.user_id != user_id || !filed.iter().any(|f| key.ends_with(f.as_str())));
        state.device_marks.retain(|(user, _), _| user != user_id);
        state.mfa_challenges.retain(|_, challenge| challenge.user_id != user_id);
        Ok(())
    }

    async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let expected = erasure.account;
        let account = state.account(&expected.user_id)?;
        require(
            account.status == AccountStatus::Active
                && account.password_hash == expected.password_hash
                && account.sessions_started == expected.sessions_started
                && account.profile_version == expected.profile_version
                && account.phone_codes_issued == expected.phone_codes_issued
                && account.factors.mfa_challenges == expected.factors.mfa_challenges
                && account.phone == expected.phone
                && account.email == expected.email
                && account.pending_email_token == expected.pending_email_token
                && account.factors.totp.as_ref().map(|t| &t.factor_id)
                    == expected.factors.totp.as_ref().map(|t| &t.factor_id)
                && account.factors.sms.as_ref().map(|f| &f.factor_id)
                    == expected.factors.sms.as_ref().map(|f| &f.factor_id)
                && account.event_sequence == expected.event_sequence,
        )?;
        let user_id = expected.user_id.clone();
        let merchant_id = expected.merchant_id.clone();
        let phone = expected.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok());
        let email = expected.email.as_deref().and_then(|e| EmailAddress::parse(e).ok());
        let phone_key = phone.map(|phone| PhoneKey { merchant_id: merchant_id.clone(), phone });
        let email_key = email.map(|email| EmailKey { merchant_id: merchant_id.clone(), email });
        if let Some(key) = &phone_key {
            require(state.phone_claims.get(&phone_id(key)).is_none_or(|c| c.user_id == user_id))?;
        }
        if let Some(key) = &email_key {
            let claim = email_id(&key.merchant_id, key.email.as_str());
            require(state.email_claims.get(&claim).is_none_or(|owner| *owner == user_id))?;
        }
        let mut identifiers: Vec<Identifier<'_>> = Vec::new();
        if let Some(key) = &phone_key {
            state.phone_claims.remove(&phone_id(key));
            identifiers.push(Identifier::Phone(key));
        }
        if let Some(key) = &email_key {
            state.email_claims.remove(&email_id(&key.merchant_id, key.email.as_str()));
            identifiers.push(Identifier::Email(key));
        }
        for who in identifiers {
            for purpose in CodePurpose::ALL {
                state.codes.remove(&code_id(who, purpose));
            }
            state.streaks.remove(&identifier_id(who));
        }
        state.streaks.remove(&format!("USER#{user_id}"));
        if let Some(token) = &expected.pending_email_token {
            state.email_tokens.remove(token);
        }
        let deleted = EventRecord::after(expected, [AccountEvent::Deleted], erasure.record.deleted_at);
        state.write_events(&user_id, &deleted);
        state.accounts.remove(&user_id);
        state.deletions.push(erasure.record.clone());
        // Events naming a phone or an address, by the account's index, once the account is gone.
        state.events.retain(|event| event.user_id != user_id || !event.names_contact());
        Ok(())
    }

    async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
        let state = self.state().await;
        Ok(state.deletions.iter().filter(|r| r.merchant_id == merchant_id).cloned().collect())
    }
}
