//! Sign-in challenges and second factors, in memory: the conditions of the DynamoDB adapter.

use async_trait::async_trait;

use super::{MemoryStore, require};
use crate::ports::*;
use crate::webhooks::event::EventRecord;

/// The condition that `proof` is still there to spend (a code by SMS: `code_spendable` too).
fn proof_spendable(factors: &AccountFactors, proof: MfaProof<'_>) -> Result<(), StoreError> {
    require(match proof {
        MfaProof::PhoneCode { sms_factor: Some(id), .. } => factors.sms.as_ref().is_some_and(|f| f.factor_id == id),
        MfaProof::PhoneCode { sms_factor: None, .. } => !factors.has_second_factor(),
        MfaProof::Totp { factor_id, step } => factors
            .totp
            .as_ref()
            .is_some_and(|totp| totp.factor_id == factor_id && totp.last_used_step.is_none_or(|last| last < step)),
        MfaProof::Recovery { set_id, mac } => {
            factors.recovery.as_ref().is_some_and(|set| set.set_id == set_id && set.remaining.iter().any(|m| m == mac))
        }
    })
}

/// Spends `proof` at `now`, once `proof_spendable` held.
fn spend(factors: &mut AccountFactors, proof: MfaProof<'_>, now: i64) {
    match proof {
        MfaProof::Totp { step, .. } => {
            if let Some(totp) = factors.totp.as_mut() {
                totp.last_used_step = Some(step);
            }
        }
        MfaProof::Recovery { mac, .. } => {
            if let Some(set) = factors.recovery.as_mut() {
                set.remaining.retain(|m| m != mac);
            }
        }
        MfaProof::PhoneCode { sms_factor, .. } => {
            if let Some(sms) = factors.sms.as_mut().filter(|_| sms_factor.is_some()) {
                sms.last_used_at = Some(now);
            }
        }
    }
    // A success, by either element, starts the count of wrong codes again.
    if let Some(totp) = factors.totp.as_mut() {
        totp.wrong_codes = 0;
    }
}

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
        proof_spendable(&account.factors, completion.proof)?;
        state.session_free(user_id, &completion.session)?;
        state.spend_code_of(completion.proof)?;
        state.mfa_challenges.remove(&challenge.digest);
        let account = state.account_mut(user_id);
        spend(&mut account.factors, completion.proof, completion.now);
        account.sessions_started += 1;
        state.start_session(user_id, &challenge.merchant_id, completion.session);
        Ok(())
    }

    async fn step_up_session(&self, step_up: StepUp<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let user_id = step_up.rotation.user_id;
        let account = state.account(user_id)?;
        require(account.status == AccountStatus::Active && account.password_hash == step_up.checked_hash)?;
        proof_spendable(&account.factors, step_up.proof)?;
        state.rotation_allowed(&step_up.rotation)?;
        state.spend_code_of(step_up.proof)?;
        let now = step_up.rotation.now;
        spend(&mut state.account_mut(user_id).factors, step_up.proof, now);
        state.rotate(step_up.rotation);
        Ok(())
    }

    async fn count_wrong_code(&self, user_id: &str, factor_id: &str) -> Result<Option<u64>, StoreError> {
        let mut state = self.state().await;
        if state.account(user_id).map_or(true, |account| account.status != AccountStatus::Active) {
            return Ok(None);
        }
        let totp = state.account_mut(user_id).factors.totp.as_mut().filter(|totp| totp.factor_id == factor_id);
        Ok(totp.map(|totp| {
            totp.wrong_codes += 1;
            totp.wrong_codes
        }))
    }

    async fn start_totp_enrolment(&self, user_id: &str, pending: &PendingTotp) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(user_id)?;
        require(account.status == AccountStatus::Active && !account.factors.has_second_factor())?;
        state.account_mut(user_id).factors.pending_totp = Some(pending.clone());
        Ok(())
    }

    async fn confirm_totp(&self, confirmation: TotpConfirmation<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(confirmation.user_id)?;
        let pending = account
            .factors
            .pending_totp
            .clone()
            .filter(|pending| pending.factor_id == confirmation.factor_id && pending.expires_at > confirmation.now);
        require(account.status == AccountStatus::Active && !account.factors.has_second_factor())?;
        let Some(pending) = pending else { return Err(StoreError::Conflict) };
        state.events_follow(confirmation.user_id, &confirmation.events)?;
        let factors = &mut state.account_mut(confirmation.user_id).factors;
        factors.totp = Some(TotpFactor {
            factor_id: pending.factor_id,
            sealed_secret: pending.sealed_secret,
            created_at: confirmation.now,
            last_used_step: Some(confirmation.step),
            wrong_codes: 0,
        });
        factors.pending_totp = None;
        if let Some(set) = confirmation.recovery {
            factors.recovery = Some(RecoverySet { created_at: confirmation.now, ..set });
        }
        state.write_events(confirmation.user_id, &confirmation.events);
        Ok(())
    }

    async fn spend_enrolment_attempt(
        &self,
        user_id: &str,
        factor_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let mut state = self.state().await;
        if state.account(user_id).map_or(true, |account| account.status != AccountStatus::Active) {
            return Ok(None);
        }
        let pending =
            state.account_mut(user_id).factors.pending_totp.as_mut().filter(|pending| {
                pending.factor_id == factor_id && pending.expires_at > now && pending.attempts_left > 0
            });
        Ok(pending.map(|pending| {
            pending.attempts_left -= 1;
            pending.attempts_left
        }))
    }

    async fn remove_factor(&self, removal: FactorRemoval<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(removal.user_id)?;
        let present = match removal.kind {
            FactorKind::Totp => account.factors.totp.as_ref().is_some_and(|totp| totp.factor_id == removal.factor_id),
            FactorKind::Sms => account.factors.sms.as_ref().is_some_and(|sms| sms.factor_id == removal.factor_id),
        };
        require(
            account.status == AccountStatus::Active
                && present
                && removal.record.is_none_or(|(_, started)| account.sessions_started == started),
        )?;
        state.events_follow(removal.user_id, &removal.events)?;
        let factors = &mut state.account_mut(removal.user_id).factors;
        match removal.kind {
            FactorKind::Totp => factors.totp = None,
            FactorKind::Sms => factors.sms = None,
        }
        factors.recovery = None;
        if let Some(phone) = removal.phone {
            let code = super::code_id(Identifier::Phone(phone), crate::security::code::CodePurpose::AccountDelete);
            state.codes.remove(&code);
        }
        if let Some((record, _)) = removal.record {
            state.factor_removals.push(record.clone());
        }
        state.write_events(removal.user_id, &removal.events);
        Ok(())
    }

    async fn enrol_sms_factor(&self, enrolment: SmsEnrolment<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(enrolment.user_id)?;
        require(
            account.status == AccountStatus::Active
                && account.phone.as_deref() == Some(enrolment.phone.phone.e164())
                && account.email.as_deref() == Some(enrolment.email)
                && account.password_hash == enrolment.checked_hash
                && !account.factors.has_second_factor(),
        )?;
        state.events_follow(enrolment.user_id, &enrolment.events)?;
        let factors = &mut state.account_mut(enrolment.user_id).factors;
        factors.sms = Some(SmsFactor {
            factor_id: enrolment.factor_id.to_owned(),
            created_at: enrolment.now,
            last_used_at: None,
        });
        factors.recovery = Some(RecoverySet { created_at: enrolment.now, ..enrolment.recovery });
        let reset_code =
            super::code_id(Identifier::Phone(enrolment.phone), crate::security::code::CodePurpose::PasswordReset);
        state.codes.remove(&reset_code);
        state.write_events(enrolment.user_id, &enrolment.events);
        Ok(())
    }

    async fn factor_removal_records(&self, merchant_id: &str) -> Result<Vec<FactorRemovalRecord>, StoreError> {
        let state = self.state().await;
        Ok(state.factor_removals.iter().filter(|r| r.merchant_id == merchant_id).cloned().collect())
    }

    async fn replace_recovery_set(
        &self,
        user_id: &str,
        replaced: Option<&str>,
        set: &RecoverySet,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(user_id)?;
        let current = account.factors.recovery.as_ref().map(|set| set.set_id.as_str());
        require(account.status == AccountStatus::Active && account.factors.has_second_factor() && current == replaced)?;
        state.events_follow(user_id, events)?;
        state.account_mut(user_id).factors.recovery = Some(set.clone());
        state.write_events(user_id, events);
        Ok(())
    }
}

impl MemoryStore {
    /// Gives the account `factors` as an enrolment would, without its ceremony (unit tests of what
    /// follows an enrolment).
    pub async fn set_factors(&self, user_id: &str, factors: AccountFactors) {
        let mut state = self.state().await;
        let challenges = state.account_mut(user_id).factors.mfa_challenges;
        state.account_mut(user_id).factors = AccountFactors { mfa_challenges: challenges, ..factors };
    }
}

impl super::State {
    /// For a code by SMS: deletes it if it is still the one checked (the DynamoDB adapter's
    /// conditional delete in the same transaction); nothing for the other proofs.
    fn spend_code_of(&mut self, proof: MfaProof<'_>) -> Result<(), StoreError> {
        let MfaProof::PhoneCode { phone, code_id, .. } = proof else { return Ok(()) };
        let key = super::code_id(Identifier::Phone(phone), crate::security::code::CodePurpose::StepUp);
        require(self.codes.get(&key).is_some_and(|code| code.code_id == code_id))?;
        self.codes.remove(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use crate::ports::*;
    use crate::testing::TestApp;

    const PHONE: &str = "+447871000071";

    fn pending(id: &str, expires_at: i64) -> PendingTotp {
        PendingTotp { factor_id: id.into(), sealed_secret: format!("sealed-{id}"), expires_at, attempts_left: 5 }
    }

    fn confirmation<'a>(user_id: &'a str, factor_id: &'a str, now: i64) -> TotpConfirmation<'a> {
        TotpConfirmation { user_id, factor_id, step: now / 30, recovery: None, now, events: Vec::new() }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_parallel_verifications_of_one_enrolment_exactly_one_makes_the_factor() {
        let t = TestApp::new().await;
        t.registered(PHONE, "Enrolment-pass-71").await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        t.store.start_totp_enrolment(&user_id, &pending("f1", 2_000_000_000)).await.unwrap();
        let store = t.store.clone();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (store, user_id) = (Arc::clone(&store), user_id.clone());
                tokio::spawn(
                    async move { store.confirm_totp(confirmation(&user_id, "f1", 1_800_000_000)).await.is_ok() },
                )
            })
            .collect();
        let mut made = 0;
        for task in tasks {
            made += usize::from(task.await.unwrap());
        }
        assert_eq!(made, 1);
        let factors = t.store.account(&user_id).await.unwrap().unwrap().factors;
        assert_eq!(factors.totp.unwrap().sealed_secret, "sealed-f1");
        assert_eq!(factors.pending_totp, None);
    }

    #[tokio::test]
    async fn an_expired_or_replaced_enrolment_makes_nothing_and_a_second_authenticator_cannot_start() {
        let t = TestApp::new().await;
        t.registered(PHONE, "Enrolment-pass-71").await;
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        t.store.start_totp_enrolment(&user_id, &pending("f1", 1_800_000_100)).await.unwrap();
        assert!(t.store.confirm_totp(confirmation(&user_id, "f1", 1_800_000_100)).await.is_err(), "expired");
        t.store.start_totp_enrolment(&user_id, &pending("f2", 1_800_000_500)).await.unwrap();
        assert!(t.store.confirm_totp(confirmation(&user_id, "f1", 1_800_000_000)).await.is_err(), "replaced");
        t.store.confirm_totp(confirmation(&user_id, "f2", 1_800_000_000)).await.unwrap();
        let another = t.store.start_totp_enrolment(&user_id, &pending("f3", 1_800_000_500)).await;
        assert!(matches!(another, Err(StoreError::Conflict)), "{another:?}");
    }
}
