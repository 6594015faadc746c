//! Session families and their refresh tokens (stored by hash): start, rotate with a grace, revoke.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::events::event_count;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::factors::assurance::Assurance;
use crate::ports::{AccountStatus, NewSession, RefreshRecord, Rotation, SessionRecord, Sessions, StoreError};
use crate::webhooks::event::EventRecord;

fn refresh_item(
    hash: &str,
    user_id: &str,
    merchant_id: &str,
    session_id: &str,
    created_at: i64,
    expires_at: i64,
    assurance: &Assurance,
) -> Item {
    let mut item = item_key(refresh_pk(hash), REFRESH_SK);
    item.extend([
        ("userId".to_owned(), s(user_id)),
        ("merchantId".to_owned(), s(merchant_id)),
        ("sessionId".to_owned(), s(session_id)),
        ("createdAt".to_owned(), n(created_at)),
        ("expiresAt".to_owned(), n(expires_at)),
        ("ttl".to_owned(), n(expires_at)),
        ("amr".to_owned(), methods_value(assurance)),
        ("authTime".to_owned(), n(assurance.auth_time())),
    ]);
    item
}

impl DynamoStore {
    /// The writes of one rotation: the presented token marked rotated (its first rotation time
    /// kept, so the grace never restarts), the session touched, the successor (with the assurance
    /// it carries) and its index entry.
    pub(super) fn rotation_writes(&self, rotation: &Rotation<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let successor = refresh_item(
            &rotation.new_hash,
            rotation.user_id,
            rotation.merchant_id,
            rotation.session_id,
            rotation.now,
            rotation.expires_at,
            rotation.assurance,
        );
        Ok(vec![
            self.update(
                item_key(refresh_pk(rotation.presented_hash), REFRESH_SK),
                "SET rotatedAt = if_not_exists(rotatedAt, :now)",
                "attribute_exists(pk) AND (attribute_not_exists(rotatedAt) OR rotatedAt >= :since)",
                values([(":now", n(rotation.now)), (":since", n(rotation.rotated_not_before))]),
            )?,
            self.update(
                item_key(user_pk(rotation.user_id), session_sk(rotation.session_id)),
                "SET lastUsedAt = :now",
                "attribute_exists(pk) AND attribute_not_exists(revokedAt) AND expiresAt > :now",
                values([(":now", n(rotation.now))]),
            )?,
            self.put(successor, Some("attribute_not_exists(pk)"), Values::new())?,
            self.index_write(rotation.user_id, refresh_pk(&rotation.new_hash), REFRESH_SK, rotation.expires_at)?,
        ])
    }

    /// The session family item and its first refresh token, for a transaction that does more.
    pub(super) fn session_writes(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut family = item_key(user_pk(user_id), session_sk(&session.session_id));
        family.extend([
            ("sessionId".to_owned(), s(&session.session_id)),
            ("merchantId".to_owned(), s(merchant_id)),
            ("createdAt".to_owned(), n(session.created_at)),
            ("expiresAt".to_owned(), n(session.expires_at)),
            ("ttl".to_owned(), n(session.expires_at)),
            ("credentialVersion".to_owned(), n(session.credential_version)),
            ("amr".to_owned(), methods_value(&session.assurance)),
            ("authTime".to_owned(), n(session.assurance.auth_time())),
        ]);
        if let Some(fingerprint) = &session.fingerprint {
            family.insert("fingerprint".to_owned(), s(fingerprint));
        }
        let refresh = refresh_item(
            &session.refresh_token_hash,
            user_id,
            merchant_id,
            &session.session_id,
            session.created_at,
            session.expires_at,
            &session.assurance,
        );
        Ok(vec![
            self.put(family, Some("attribute_not_exists(pk)"), Values::new())?,
            self.put(refresh, Some("attribute_not_exists(pk)"), Values::new())?,
            self.index_write(user_id, refresh_pk(&session.refresh_token_hash), REFRESH_SK, session.expires_at)?,
        ])
    }

    /// Revokes one session family, in a transaction that does more.
    pub(super) fn revoke_write(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.update(
            item_key(user_pk(user_id), session_sk(session_id)),
            "SET revokedAt = if_not_exists(revokedAt, :now)",
            "attribute_exists(pk)",
            values([(":now", n(now))]),
        )
    }
}

#[async_trait]
impl Sessions for DynamoStore {
    async fn start_session(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
        checked_hash: &str,
    ) -> Result<(), StoreError> {
        let mut items = self.session_writes(user_id, merchant_id, session)?;
        // A reset or change that committed after the password was checked wins: no session for it.
        // The count tells an account deletion that a session started after it swept the account.
        // A session on the password alone only while the account has no second factor: one enrolled
        // after the read is asked for too (`complete_mfa_sign_in` starts the other sessions).
        items.push(self.update(
            key_for_account(user_id),
            "ADD sessionsStarted :one",
            "#status = :active AND passwordHash = :checked AND attribute_not_exists(totpId) \
             AND attribute_not_exists(smsFactorId)",
            values([(":active", status_value(AccountStatus::Active)), (":checked", s(checked_hash)), (":one", n(1))]),
        )?);
        self.transact("TransactWriteItems start session", items).await
    }

    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let item = self.get("GetItem refresh token", item_key(refresh_pk(token_hash), REFRESH_SK)).await?;
        item.as_ref().map(RefreshRecord::try_from).transpose()
    }

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let item = self.get("GetItem session", item_key(user_pk(user_id), session_sk(session_id))).await?;
        item.as_ref().map(SessionRecord::try_from).transpose()
    }

    async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let items = self.query_prefix("Query sessions", user_pk(user_id), "SESSION#").await?;
        items.iter().map(SessionRecord::try_from).collect()
    }

    async fn rotate_refresh_token(&self, rotation: Rotation<'_>) -> Result<(), StoreError> {
        let items = self.rotation_writes(&rotation)?;
        self.transact("TransactWriteItems rotate refresh token", items).await
    }

    async fn mark_device_told(
        &self,
        user_id: &str,
        device: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut mark = item_key(user_pk(user_id), device_sk(device));
        mark.extend([("expiresAt".to_owned(), n(expires_at)), ("ttl".to_owned(), n(expires_at))]);
        let condition = "attribute_not_exists(pk) OR expiresAt <= :now";
        match self.put_one("PutItem device mark", mark, condition, values([(":now", n(now))])).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn unmark_device(&self, user_id: &str, device: &str) -> Result<(), StoreError> {
        let key = item_key(user_pk(user_id), device_sk(device));
        self.delete_one("DeleteItem device mark", key, None, Values::new()).await
    }

    async fn end_session_reported(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Err(StoreError::Backend("a reported session end needs its event".to_owned()));
        }
        let mut vals = values([(":active", status_value(AccountStatus::Active))]);
        let (count, counted) = event_count(events, &mut vals);
        let set = count.trim_start_matches(", ");
        let mut items = vec![
            self.update(
                item_key(user_pk(user_id), session_sk(session_id)),
                "SET revokedAt = :now",
                "attribute_exists(pk) AND attribute_not_exists(revokedAt)",
                values([(":now", n(now))]),
            )?,
            self.update(key_for_account(user_id), &format!("SET {set}"), &format!("#status = :active{counted}"), vals)?,
        ];
        self.event_writes(events, &mut items)?;
        self.transact("TransactWriteItems end session", items).await
    }

    async fn revoke_session(&self, user_id: &str, session_id: &str, now: i64) -> Result<(), StoreError> {
        let result = self
            .update_one(
                "UpdateItem revoke session",
                item_key(user_pk(user_id), session_sk(session_id)),
                "SET revokedAt = if_not_exists(revokedAt, :now)",
                "attribute_exists(pk)",
                values([(":now", n(now))]),
            )
            .await;
        match result {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }
}
