//! Sign-in challenges and second factors, in memory: the conditions of the DynamoDB adapter.

use async_trait::async_trait;

use super::{MemoryStore, require};
use crate::ports::*;

#[async_trait]
impl Factors for MemoryStore {
    async fn start_mfa_challenge(&self, challenge: &MfaChallenge, checked_hash: &str) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(&challenge.user_id)?;
        require(account.status == AccountStatus::Active && account.password_hash == checked_hash)?;
        require(!state.mfa_challenges.contains_key(&challenge.digest))?;
        state.mfa_challenges.insert(challenge.digest.clone(), challenge.clone());
        state.account_mut(&challenge.user_id).factors.mfa_challenges += 1;
        Ok(())
    }

    async fn mfa_challenge(&self, digest: &str) -> Result<Option<MfaChallenge>, StoreError> {
        Ok(self.state().await.mfa_challenges.get(digest).cloned())
    }

    async fn spend_mfa_attempt(&self, digest: &str, now: i64) -> Result<Option<u32>, StoreError> {
        let mut state = self.state().await;
        Ok(match state.mfa_challenges.get_mut(digest) {
            Some(challenge) if challenge.attempts_left > 0 && challenge.expires_at > now => {
                challenge.attempts_left -= 1;
                Some(challenge.attempts_left)
            }
            _ => None,
        })
    }

    async fn complete_mfa_sign_in(&self, completion: MfaCompletion<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let challenge = completion.challenge;
        let user_id = &challenge.user_id;
        let stored = state.mfa_challenges.get(&challenge.digest);
        require(stored.is_some_and(|c| c.user_id == *user_id && c.expires_at > completion.now))?;
        let account = state.account(user_id)?;
        require(account.status == AccountStatus::Active && account.password_hash == completion.checked_hash)?;
        let factors = &account.factors;
        match completion.proof {
            MfaProof::Totp { factor_id, step } => require(factors.totp.as_ref().is_some_and(|totp| {
                totp.factor_id == factor_id && totp.last_used_step.is_none_or(|last| last < step)
            }))?,
            MfaProof::Recovery { set_id, mac } => require(
                factors
                    .recovery
                    .as_ref()
                    .is_some_and(|set| set.set_id == set_id && set.remaining.iter().any(|m| m == mac)),
            )?,
        }
        state.session_free(user_id, &completion.session)?;
        state.mfa_challenges.remove(&challenge.digest);
        let account = state.account_mut(user_id);
        match completion.proof {
            MfaProof::Totp { step, .. } => {
                if let Some(totp) = account.factors.totp.as_mut() {
                    totp.last_used_step = Some(step);
                }
            }
            MfaProof::Recovery { mac, .. } => {
                if let Some(set) = account.factors.recovery.as_mut() {
                    set.remaining.retain(|m| m != mac);
                }
            }
        }
        account.sessions_started += 1;
        state.start_session(user_id, &challenge.merchant_id, completion.session);
        Ok(())
    }
}

impl MemoryStore {
    /// Gives the account `factors` as an enrolment would (unit tests; the enrolment endpoints are
    /// not built yet).
    pub async fn set_factors(&self, user_id: &str, factors: AccountFactors) {
        let mut state = self.state().await;
        let challenges = state.account_mut(user_id).factors.mfa_challenges;
        state.account_mut(user_id).factors = AccountFactors { mfa_challenges: challenges, ..factors };
    }
}
