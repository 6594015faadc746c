//! Sessions, refresh tokens and password changes, in memory.

use async_trait::async_trait;

use super::{MemoryStore, code_id, require};
use crate::ports::*;
use crate::security::code::CodePurpose;
use crate::webhooks::event::EventRecord;

#[async_trait]
impl Sessions for MemoryStore {
    async fn start_session(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
        checked_hash: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(user_id)?;
        require(
            account.status == AccountStatus::Active
                && account.password_hash == checked_hash
                && !account.factors.has_second_factor(),
        )?;
        state.session_free(user_id, &session)?;
        state.start_session(user_id, merchant_id, session);
        state.account_mut(user_id).sessions_started += 1;
        Ok(())
    }

    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.state().await.refresh.get(token_hash).cloned())
    }

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.state().await.sessions.get(&(user_id.to_owned(), session_id.to_owned())).cloned())
    }

    async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let state = self.state().await;
        Ok(state.sessions.iter().filter(|((user, _), _)| user == user_id).map(|(_, s)| s.clone()).collect())
    }

    async fn rotate_refresh_token(&self, r: Rotation<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        state.rotation_allowed(&r)?;
        state.rotate(r);
        Ok(())
    }

    async fn mark_device_told(
        &self,
        user_id: &str,
        device: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        let key = (user_id.to_owned(), device.to_owned());
        if state.device_marks.get(&key).is_some_and(|at| *at > now) {
            return Ok(false);
        }
        state.device_marks.insert(key, expires_at);
        Ok(true)
    }

    async fn unmark_device(&self, user_id: &str, device: &str) -> Result<(), StoreError> {
        self.state().await.device_marks.remove(&(user_id.to_owned(), device.to_owned()));
        Ok(())
    }

    async fn revoke_session(&self, user_id: &str, session_id: &str, _now: i64) -> Result<(), StoreError> {
        if let Some(session) = self.state().await.sessions.get_mut(&(user_id.to_owned(), session_id.to_owned())) {
            session.revoked = true;
        }
        Ok(())
    }

    async fn end_session_reported(
        &self,
        user_id: &str,
        session_id: &str,
        _now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let key = (user_id.to_owned(), session_id.to_owned());
        require(!events.is_empty() && state.sessions.get(&key).is_some_and(|session| !session.revoked))?;
        require(state.account(user_id)?.status == AccountStatus::Active)?;
        state.events_follow(user_id, events)?;
        if let Some(session) = state.sessions.get_mut(&key) {
            session.revoked = true;
        }
        state.write_events(user_id, events);
        Ok(())
    }
}

#[async_trait]
impl Passwords for MemoryStore {
    async fn set_password(&self, change: PasswordChange<'_>) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let account = state.account(change.user_id)?;
        require(account.status == AccountStatus::Active && account.password_hash == change.expected_hash)?;
        state.events_follow(change.user_id, &change.events)?;
        if let Some((who, code)) = change.reset_code {
            state.code_is(who, CodePurpose::PasswordReset, code)?;
            require(state.claim_holder(who).as_deref() == Some(change.user_id))?;
        }
        let session = |id: &str| (change.user_id.to_owned(), id.to_owned());
        if let Some(kept) = change.keep_session {
            require(state.sessions.get(&session(kept)).is_some_and(|s| !s.revoked))?;
        }
        for id in &change.revoke_sessions {
            require(state.sessions.contains_key(&session(id)))?;
        }
        if let Some((who, _)) = change.reset_code {
            state.codes.remove(&code_id(who, CodePurpose::PasswordReset));
        }
        if let Some(kept) = change.keep_session.and_then(|id| state.sessions.get_mut(&session(id))) {
            kept.credential_version = change.credential_version;
        }
        for id in &change.revoke_sessions {
            if let Some(revoked) = state.sessions.get_mut(&session(id)) {
                revoked.revoked = true;
            }
        }
        let account = state.account_mut(change.user_id);
        account.password_hash = change.new_hash;
        account.password_history = change.history;
        account.credential_version = change.credential_version;
        if change.reset_code.is_some() {
            account.valid_after = change.now;
        }
        state.write_events(change.user_id, &change.events);
        Ok(())
    }
}

impl super::State {
    /// The conditions of one rotation (the DynamoDB adapter's `rotation_writes`).
    pub(super) fn rotation_allowed(&self, r: &Rotation<'_>) -> Result<(), StoreError> {
        let presented = self.refresh.get(r.presented_hash).ok_or(StoreError::Conflict)?;
        require(presented.rotated_at.is_none_or(|at| at >= r.rotated_not_before))?;
        let session = self.sessions.get(&(r.user_id.to_owned(), r.session_id.to_owned()));
        require(session.is_some_and(|s| !s.revoked && s.expires_at > r.now))?;
        require(!self.refresh.contains_key(&r.new_hash))
    }

    /// The rotation's writes, once allowed: the session touched, the successor stored.
    pub(super) fn rotate(&mut self, r: Rotation<'_>) {
        if let Some(presented) = self.refresh.get_mut(r.presented_hash) {
            presented.rotated_at.get_or_insert(r.now);
        }
        let successor = RefreshRecord {
            user_id: r.user_id.to_owned(),
            merchant_id: r.merchant_id.to_owned(),
            session_id: r.session_id.to_owned(),
            expires_at: r.expires_at,
            rotated_at: None,
            assurance: Some(r.assurance.clone()),
        };
        self.refresh.insert(r.new_hash, successor);
        if let Some(session) = self.sessions.get_mut(&(r.user_id.to_owned(), r.session_id.to_owned())) {
            session.last_used_at = r.now;
        }
    }
}
