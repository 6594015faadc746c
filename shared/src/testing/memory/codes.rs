//! Codes, send logs, sign-in streaks, partners and counters, in memory.

use async_trait::async_trait;

use super::{MemoryStore, code_id, email_id, identifier_id, phone_id, require};
use crate::domain::partner::Partner;
use crate::domain::send_limits::{SendLog, SendReservation};
use crate::domain::signin_backoff::SigninBackoff;
use crate::ports::*;
use crate::security::code::CodePurpose;

fn streak_id(streak: Streak<'_>) -> String {
    match streak {
        Streak::Identifier(who) => identifier_id(who),
        Streak::Account(user_id) => format!("USER#{user_id}"),
    }
}

#[async_trait]
impl Codes for MemoryStore {
    async fn code(&self, who: Identifier<'_>, purpose: CodePurpose) -> Result<Option<StoredCode>, StoreError> {
        Ok(self.state().await.codes.get(&code_id(who, purpose)).cloned())
    }

    async fn issue_code(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: IssuedCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        // Phone add and change codes are filed under the account: it must be active (and, for a
        // code that is sent, still without a phone, or with one to move from), and its count of
        // such codes goes up, as the DynamoDB adapter's `account_filing` does.
        let filed = matches!(purpose, CodePurpose::PhoneAdd | CodePurpose::PhoneChange);
        let code = match code {
            IssuedCode::Decoy(code) if filed => {
                require(state.accounts.get(&code.user_id).is_some_and(|a| a.status == AccountStatus::Active))?;
                code
            }
            IssuedCode::Decoy(code) => code,
            IssuedCode::Sent(code) => {
                let holds = match (purpose, who) {
                    (CodePurpose::PhoneSignup, Identifier::Phone(key)) => state
                        .phone_claims
                        .get(&phone_id(key))
                        .is_some_and(|c| c.user_id == code.user_id && c.status == AccountStatus::Pending),
                    (
                        CodePurpose::PasswordReset | CodePurpose::AccountDelete | CodePurpose::StepUp,
                        Identifier::Phone(key),
                    ) => state
                        .phone_claims
                        .get(&phone_id(key))
                        .is_some_and(|c| c.user_id == code.user_id && c.status == AccountStatus::Active),
                    (CodePurpose::EmailSignup, Identifier::Email(key)) => {
                        !state.email_claims.contains_key(&email_id(&key.merchant_id, key.email.as_str()))
                    }
                    (
                        CodePurpose::PasswordReset | CodePurpose::AccountDelete | CodePurpose::StepUp,
                        Identifier::Email(key),
                    ) => state
                        .email_claims
                        .get(&email_id(&key.merchant_id, key.email.as_str()))
                        .is_some_and(|owner| *owner == code.user_id),
                    (CodePurpose::PhoneAdd, _) => state
                        .accounts
                        .get(&code.user_id)
                        .is_some_and(|a| a.status == AccountStatus::Active && a.phone.is_none()),
                    (CodePurpose::PhoneChange, _) => state
                        .accounts
                        .get(&code.user_id)
                        .is_some_and(|a| a.status == AccountStatus::Active && a.phone.is_some()),
                    _ => false,
                };
                require(holds)?;
                code
            }
        };
        state.log_unchanged(send)?;
        if filed {
            state.account_mut(&code.user_id).phone_codes_issued += 1;
        }
        state.codes.insert(code_id(who, purpose), code);
        state.write_log(send);
        Ok(())
    }

    async fn spend_code_attempt(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let mut state = self.state().await;
        let Some(code) = state.codes.get_mut(&code_id(who, purpose)) else {
            return Ok(None);
        };
        if code.code_id != id || code.attempts_left == 0 || code.expires_at <= now {
            return Ok(None);
        }
        code.attempts_left -= 1;
        Ok(Some(code.attempts_left))
    }
}

#[async_trait]
impl SendLogs for MemoryStore {
    async fn send_log(&self, key: &str) -> Result<SendLog, StoreError> {
        let state = self.state().await;
        Ok(state.send_logs.get(key).cloned().unwrap_or_else(|| SendLog { key: key.to_owned(), ..SendLog::default() }))
    }

    async fn record_send(&self, send: &SendReservation) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.log_unchanged(send)?;
        state.write_log(send);
        Ok(())
    }

    async fn release_send(&self, send: &SendReservation) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let log = state.send_logs.get_mut(&send.log).ok_or(StoreError::Conflict)?;
        require(log.version == send.new_version())?;
        log.sent_at = send.released();
        log.version += 1;
        Ok(())
    }
}

#[async_trait]
impl SigninStreaks for MemoryStore {
    async fn signin_backoff(&self, streak: Streak<'_>) -> Result<SigninBackoff, StoreError> {
        Ok(self.state().await.streaks.get(&streak_id(streak)).cloned().unwrap_or_default())
    }

    async fn record_signin_attempt(&self, next: &[(Streak<'_>, SigninBackoff)]) -> Result<(), StoreError> {
        let mut state = self.state().await;
        for (streak, next) in next {
            let stored = state.streaks.get(&streak_id(*streak)).map(|s| s.version);
            require(if next.version <= 1 { stored.is_none() } else { stored == Some(next.version - 1) })?;
        }
        for (streak, next) in next {
            state.streaks.insert(streak_id(*streak), *next);
        }
        Ok(())
    }

    async fn clear_signin_failures(&self, streaks: &[Streak<'_>]) -> Result<(), StoreError> {
        let mut state = self.state().await;
        for streak in streaks {
            state.streaks.remove(&streak_id(*streak));
        }
        Ok(())
    }
}

#[async_trait]
impl PartnerRegistry for MemoryStore {
    async fn partner(&self, id: &str) -> Result<Option<Partner>, StoreError> {
        Ok(self.state().await.partners.get(id).cloned())
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        Ok(self.state().await.partners.values().cloned().collect())
    }

    async fn add_partner(&self, partner: &Partner) -> Result<(), StoreError> {
        let mut state = self.state().await;
        require(!state.partners.contains_key(&partner.id))?;
        state.partners.insert(partner.id.clone(), partner.clone());
        Ok(())
    }

    async fn update_partner(&self, partner: &Partner, read_at: i64) -> Result<(), StoreError> {
        let mut state = self.state().await;
        require(state.partners.get(&partner.id).is_some_and(|p| p.updated_at == read_at))?;
        state.partners.insert(partner.id.clone(), partner.clone());
        Ok(())
    }
}

#[async_trait]
impl Counters for MemoryStore {
    async fn increment_below(&self, key: &CounterKey, limit: u64) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        let hits = state.counters.entry(key.name.clone()).or_default();
        if *hits >= limit {
            return Ok(false);
        }
        *hits += 1;
        Ok(true)
    }

    async fn decrement(&self, key: &CounterKey) -> Result<(), StoreError> {
        if let Some(hits) = self.state().await.counters.get_mut(&key.name) {
            *hits = hits.saturating_sub(1);
        }
        Ok(())
    }

    async fn admit_recipient(
        &self,
        key: &CounterKey,
        member: &str,
        limit: u64,
        user_id: &str,
    ) -> Result<Admission, StoreError> {
        // As the DynamoDB adapter: a limit of 0 is refused before anything is read.
        if limit == 0 {
            return Ok(Admission::Full);
        }
        let mut state = self.state().await;
        if state.accounts.get(user_id).is_none_or(|account| account.status != AccountStatus::Active) {
            return Ok(Admission::AccountGone);
        }
        let members = state.members.entry(key.name.clone()).or_default();
        if members.contains(member) {
            return Ok(Admission::Admitted);
        }
        if members.len() as u64 >= limit {
            return Ok(Admission::Full);
        }
        members.insert(member.to_owned());
        Ok(Admission::Admitted)
    }

    async fn remove(&self, key: &CounterKey) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.counters.remove(&key.name);
        state.members.remove(&key.name);
        Ok(())
    }
}
