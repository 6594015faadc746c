//! Sign-in failure streaks: version-conditioned, so a check is reserved by writing its failure
//! before the password is compared.

use async_trait::async_trait;

use super::items::*;
use super::table::{DynamoStore, values};
use crate::domain::signin_backoff::SigninBackoff;
use crate::ports::{SigninStreaks, StoreError, Streak};

#[async_trait]
impl SigninStreaks for DynamoStore {
    async fn signin_backoff(&self, streak: Streak<'_>) -> Result<SigninBackoff, StoreError> {
        let item = self.get("GetItem sign-in back-off", streak_key(streak)).await?;
        Ok(item.as_ref().map(SigninBackoff::try_from).transpose()?.unwrap_or_default())
    }

    async fn record_signin_attempt(&self, next: &[(Streak<'_>, SigninBackoff)]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(next.len());
        for (streak, next) in next {
            let condition = if next.version <= 1 { "attribute_not_exists(pk)" } else { "version = :expected" };
            let mut vals = values([
                (":failures", n(next.failures)),
                (":blocked", n(next.blocked_until)),
                (":version", n(next.version)),
                (":ttl", n(next.forgotten_at)),
            ]);
            if next.version > 1 {
                vals.insert(":expected".to_owned(), n(next.version - 1));
            }
            let update = "SET failures = :failures, blockedUntil = :blocked, version = :version, #ttl = :ttl";
            items.push(self.update(streak_key(*streak), update, condition, vals)?);
        }
        self.transact("TransactWriteItems sign-in attempt", items).await
    }

    async fn clear_signin_failures(&self, streaks: &[Streak<'_>]) -> Result<(), StoreError> {
        let mut deletes = Vec::with_capacity(streaks.len());
        for streak in streaks {
            deletes.push(self.delete(streak_key(*streak), None, Default::default())?);
        }
        self.transact("TransactWriteItems clear sign-in streaks", deletes).await
    }
}
