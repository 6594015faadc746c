//! Checking a password under the sign-in back-off (sign-in, password and phone change). The failure is
//! written before the password is compared, conditional on the streaks being as read: of any
//! number of parallel requests, each check takes one slot of the streak, and once the streak
//! blocks, the rest are answered 429 without a check. A success clears the streaks.

use super::race_backoff;
use crate::App;
use crate::domain::password::Password;
use crate::domain::signin_backoff::SigninBackoff;
use crate::error::ApiError;
use crate::ports::{AccountRecord, Clock, Identifier, SigninStreaks, StoreError, Streak};

/// A signed-in user proving their password again (password change, phone change), under the
/// sign-in back-off: a stolen access token buys no more guesses than sign-in gives. A wrong
/// password is a 400 on `field`.
pub(super) async fn reauthenticate(
    app: &App,
    account: &AccountRecord,
    password: String,
    field: &'static str,
) -> Result<(), ApiError> {
    let wrong = || ApiError::validation(field, "incorrect", "The password is not correct.");
    let password = Password::new(password).map_err(|_| wrong())?;
    let identifier = account
        .sign_in_identifier()
        .ok_or_else(|| ApiError::Internal(format!("account {} has neither phone nor email", account.user_id)))?;
    let check = reserve_check(&*app.store, &*app.clock, identifier.as_ref(), &account.user_id).await?;
    if !app.hasher.verify(&password, &account.password_hash).await? {
        return Err(wrong());
    }
    // With a second factor, a right password is half a sign-in: it must not clear the streak that
    // wrong codes built, or a session could reset the count between guesses.
    if account.factors.has_second_factor() {
        check.taken_back(&*app.store).await
    } else {
        check.succeeded(&*app.store).await
    }
}

/// Reads and reservations a request makes before it gives up on a contended streak.
const RESERVE_TRIES: u64 = 6;

/// The account streak of an identifier with no account: one per identifier, so unknown
/// identifiers neither share (and contend on) one item nor cost less than known ones.
pub(super) fn no_account_streak(who: Identifier<'_>) -> String {
    format!("none:{}:{}", who.merchant_id(), who.address())
}

/// A password check that the back-off allowed and that is already counted as a failure.
pub(super) struct ReservedCheck<'a> {
    streaks: [Streak<'a>; 2],
    /// The streaks as they stood before this check was counted, and as it left them.
    before: [SigninBackoff; 2],
    after: [SigninBackoff; 2],
}

impl ReservedCheck<'_> {
    /// The password was right: the streaks start again from nothing.
    pub(super) async fn succeeded(self, streaks: &dyn SigninStreaks) -> Result<(), ApiError> {
        Ok(streaks.clear_signin_failures(&self.streaks).await?)
    }

    /// The password was right, but a second factor is still to come: the failure counted for this
    /// check is taken back and the streaks stay as they were. Only a completed sign-in clears them,
    /// so right passwords between wrong codes never start the count again. If a parallel check
    /// moved a streak on meanwhile, this one stays counted (the stricter way to be wrong).
    pub(super) async fn taken_back(self, streaks: &dyn SigninStreaks) -> Result<(), ApiError> {
        // The failures and wait as before; the version and expiry as after, so the item written
        // (even for a streak that had none) is forgotten a day on, as every streak is.
        let next = [0, 1].map(|i| {
            let after = self.after[i];
            (
                self.streaks[i],
                SigninBackoff { version: after.version + 1, forgotten_at: after.forgotten_at, ..self.before[i] },
            )
        });
        match streaks.record_signin_attempt(&next).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

/// Reserves one password check against the identifier's and the account's streaks, or answers
/// 429 with the longer of their waits.
pub(super) async fn reserve_check<'a>(
    store: &dyn SigninStreaks,
    clock: &dyn Clock,
    who: Identifier<'a>,
    account: &'a str,
) -> Result<ReservedCheck<'a>, ApiError> {
    let streaks = [Streak::Identifier(who), Streak::Account(account)];
    for round in 1..=RESERVE_TRIES {
        let now = clock.now();
        let (by_identifier, by_account) =
            tokio::join!(store.signin_backoff(streaks[0]), store.signin_backoff(streaks[1]));
        let current: [SigninBackoff; 2] = [by_identifier?.as_of(now), by_account?.as_of(now)];
        if let Some(retry_after) = current.iter().filter_map(|streak| streak.wait(now)).max() {
            return Err(ApiError::TooManyRequests { retry_after });
        }
        let after = [current[0].after_failure(now), current[1].after_failure(now)];
        let next = [(streaks[0], after[0]), (streaks[1], after[1])];
        match store.record_signin_attempt(&next).await {
            Ok(()) => return Ok(ReservedCheck { streaks, before: current, after }),
            // A parallel check took this slot: look at the streaks again.
            Err(StoreError::Conflict) => race_backoff(round).await,
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = RESERVE_TRIES, "sign-in streak contended; holding the request back");
    Err(ApiError::TooManyRequests { retry_after: 1 })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use crate::testing::TestApp;

    const PHONE: &str = "+447871000010";
    const PASSWORD: &str = "Backoff-pass-10";

    #[tokio::test]
    async fn five_failures_are_free_then_the_waits_double_and_always_end() {
        let t = TestApp::new().await;
        t.registered(PHONE, PASSWORD).await;
        for _ in 0..5 {
            assert_eq!(t.sign_in(PHONE, "Wrong-guess-1").await.body["error"], "invalid_grant");
        }
        let held = t.sign_in(PHONE, PASSWORD).await;
        assert_eq!((held.status, held.body["data"]["retryAfter"].clone()), (429, 30.into()));
        t.clock.advance(30);
        assert_eq!(t.sign_in(PHONE, "Wrong-guess-1").await.status, 400);
        assert_eq!(t.sign_in(PHONE, PASSWORD).await.body["data"]["retryAfter"], 60);
        t.clock.advance(60);
        // The owner gets in, and the success clears the streak.
        assert_eq!(t.sign_in(PHONE, PASSWORD).await.status, 200);
        assert_eq!(t.sign_in(PHONE, "Wrong-guess-1").await.status, 400);
    }

    #[tokio::test]
    async fn an_unknown_number_is_held_back_like_a_known_one() {
        let t = TestApp::new().await;
        for _ in 0..5 {
            assert_eq!(t.sign_in("+447871000011", "Wrong-guess-1").await.status, 400);
        }
        assert_eq!(t.sign_in("+447871000011", "Wrong-guess-1").await.body["data"]["retryAfter"], 30);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_twelve_parallel_checks_after_the_wait_one_is_made() {
        let t = Arc::new(TestApp::new().await);
        t.registered(PHONE, PASSWORD).await;
        for _ in 0..5 {
            t.sign_in(PHONE, "Wrong-guess-1").await;
        }
        t.clock.advance(30);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { t.sign_in(PHONE, "Wrong-guess-2").await.status })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [400, 429, 429, 429, 429, 429, 429, 429, 429, 429, 429, 429]);
    }
}
