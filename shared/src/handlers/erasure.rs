//! Deleting an account, the same way from the app (bearer and password) and from the web page (an
//! SMS code): sweep, then erase in one transaction, then tell the owner.
//!
//! Each round reads the account, then sweeps: every session (so no token of the account works or
//! rotates any more), every refresh and link token filed under it, every code it was sent under a
//! number not its own (phone add and change), its device marks; a sweep can be repeated. The
//! erasure deletes the account, its claims and every code and streak under keys known from it, and
//! writes the deletion record, in one transaction conditional on the account being as read before
//! the sweep (status, password, sessions started, profile version, phone, email, pending link,
//! codes sent to new numbers): a sign-in, a phone or email change or a code sent meanwhile makes it
//! fail, and the next round reads the account again and sweeps what it made. So a deletion that
//! stops between the steps leaves a whole account with its claims, which signs in and can be deleted
//! again, and one that finishes leaves nothing and frees the phone and address at once.

use super::notices::{SecurityEvent, confirmed_channels, notify};
use super::race_backoff;
use crate::App;
use crate::admission::recipients;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::ports::{AccountRecord, AccountStatus, DeletionChannel, DeletionRecord, Erasure, StoreError};

/// Sweep-and-erase rounds before a deletion that keeps meeting new sessions gives up (503).
const ERASE_ROUNDS: u64 = 4;

/// Deletes `account` and everything kept about it, records the deletion, and tells the owner on
/// the account's confirmed phone and address (under the notice cap; never holding the deletion
/// back). An account already gone (a parallel deletion won) is a 401, as its tokens now are.
pub(super) async fn erase(
    app: &App,
    mailer: &Mailer,
    partner: &Partner,
    account: &AccountRecord,
    channel: DeletionChannel,
) -> Result<(), ApiError> {
    let user_id = &account.user_id;
    for round in 1..=ERASE_ROUNDS {
        // Read before the sweep: whatever is filed under the account after this read changes it, so
        // the erasure (conditional on the account as read here) fails and the next round sweeps it.
        let Some(current) = app.store.account(user_id).await?.filter(|a| a.status == AccountStatus::Active) else {
            return Err(ApiError::Unauthorized("account gone".into()));
        };
        // The deletion page proves the phone only: an account that has a factor by now (enrolled
        // after the page read it) is not deleted there; the erasure is conditional on the factor
        // as read here, so one enrolled later still fails it.
        if channel == DeletionChannel::Web && current.factors.has_second_factor() {
            return Err(ApiError::InsufficientAuthentication(crate::factors::step_up::Requirement::recent_aal2(
                crate::factors::step_up::SecondElement::EnrolledFactor,
            )));
        }
        app.deletions.sweep_account(user_id).await?;
        let now = app.clock.now();
        let record = DeletionRecord {
            user_id: user_id.clone(),
            merchant_id: current.merchant_id.clone(),
            deleted_at: now,
            channel,
        };
        match app.deletions.erase_account(Erasure { account: &current, record: &record }).await {
            Ok(()) => {
                tracing::info!(user_id = %user_id, channel = channel.as_str(), "account deleted");
                recipients::forget(app, user_id).await;
                let told = confirmed_channels(&current);
                notify(app, mailer, partner, &told, &SecurityEvent::AccountDeleted, now).await;
                return Ok(());
            }
            // A session started, or the account changed, since it was read: read and sweep again.
            Err(StoreError::Conflict) => race_backoff(round).await,
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(user_id = %user_id, rounds = ERASE_ROUNDS, "account deletion kept meeting new sessions");
    Err(ApiError::Unavailable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::domain::phone::PhoneNumber;
    use crate::domain::send_limits::SendLimits;
    use crate::handlers::token::session_tokens::new_session;
    use crate::ports::{
        AccountDeletions, Codes, Directory, Factors, Identifier, IssuedCode, MfaChallenge, PendingTotp, PhoneKey,
        PhoneMove, Profiles, Recipient, SendLogs, Sessions, StoredCode, TotpConfirmation,
    };
    use crate::security::code::CodePurpose;
    use crate::testing::{MemoryStore, TestApp, live_partner};
    use crate::webhooks::event::AccountEvent;

    /// The memory store's deletion steps, with a sign-in landing between the first sweep and its
    /// erasure, as a parallel request on another Lambda copy could.
    struct SignInBetweenSteps {
        store: Arc<MemoryStore>,
        erasures: AtomicUsize,
    }

    #[async_trait]
    impl AccountDeletions for SignInBetweenSteps {
        async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
            self.store.sweep_account(user_id).await
        }

        async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
            if self.erasures.fetch_add(1, Ordering::SeqCst) == 0 {
                let account = self.store.account(&erasure.account.user_id).await?.unwrap();
                let (_, session) = new_session(
                    Some("racing-device".into()),
                    account.credential_version,
                    crate::factors::assurance::Assurance::password(0),
                    0,
                );
                self.store
                    .start_session(&account.user_id, &account.merchant_id, session, &account.password_hash)
                    .await?;
            }
            self.store.erase_account(erasure).await
        }

        async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
            self.store.deletion_records(merchant_id).await
        }
    }

    /// The memory store's deletion steps, with a sign-in on an account with a second factor opening
    /// its challenge between the first sweep and the erasure.
    struct ChallengeBetweenSteps {
        store: Arc<MemoryStore>,
        erasures: AtomicUsize,
    }

    #[async_trait]
    impl AccountDeletions for ChallengeBetweenSteps {
        async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
            self.store.sweep_account(user_id).await
        }

        async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
            if self.erasures.fetch_add(1, Ordering::SeqCst) == 0 {
                let account = self.store.account(&erasure.account.user_id).await?.unwrap();
                let challenge = MfaChallenge {
                    digest: "racing-challenge".into(),
                    user_id: account.user_id.clone(),
                    merchant_id: account.merchant_id.clone(),
                    fingerprint: None,
                    credential_version: account.credential_version,
                    expires_at: i64::MAX,
                    attempts_left: 5,
                };
                self.store.start_mfa_challenge(&challenge, &account.password_hash).await?;
            }
            self.store.erase_account(erasure).await
        }

        async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
            self.store.deletion_records(merchant_id).await
        }
    }

    /// The memory store's deletion steps, with an authenticator enrolled (started and confirmed)
    /// between the first sweep and the erasure.
    struct EnrolmentBetweenSteps {
        store: Arc<MemoryStore>,
        erasures: AtomicUsize,
    }

    #[async_trait]
    impl AccountDeletions for EnrolmentBetweenSteps {
        async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
            self.store.sweep_account(user_id).await
        }

        async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
            if self.erasures.fetch_add(1, Ordering::SeqCst) == 0 {
                let user_id = &erasure.account.user_id;
                let pending = PendingTotp {
                    factor_id: "f-racing".into(),
                    sealed_secret: "s".into(),
                    expires_at: i64::MAX,
                    attempts_left: 5,
                };
                self.store.start_totp_enrolment(user_id, &pending).await?;
                let confirmation = TotpConfirmation {
                    user_id,
                    factor_id: "f-racing",
                    step: 1,
                    recovery: None,
                    now: 0,
                    events: Vec::new(),
                };
                self.store.confirm_totp(confirmation).await?;
            }
            self.store.erase_account(erasure).await
        }

        async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
            self.store.deletion_records(merchant_id).await
        }
    }

    /// A phone change code for `new`, stored for `user_id` as phone change stores one (and sent).
    async fn phone_change_code(store: &MemoryStore, new: &PhoneKey, user_id: &str, now: i64) -> String {
        let log = store.send_log(&Recipient::Phone(&new.phone).log_key(&live_partner())).await.unwrap();
        let send = log.reserve(now, &SendLimits::default()).unwrap();
        let code_id = format!("code-{now}");
        let code = StoredCode {
            code_id: code_id.clone(),
            mac: "mac".into(),
            user_id: user_id.into(),
            expires_at: now + 300,
            attempts_left: 5,
        };
        store
            .issue_code(Identifier::Phone(new), CodePurpose::PhoneChange, IssuedCode::Sent(code), &send)
            .await
            .unwrap();
        code_id
    }

    fn phone_key(e164: &str) -> PhoneKey {
        PhoneKey { merchant_id: live_partner().id, phone: PhoneNumber::parse(e164).unwrap() }
    }

    /// The memory store's deletion steps, with a phone change confirmed (or only asked for) between
    /// the deletion's read of the account and its erasure, as a parallel request could.
    struct PhoneChangeBetweenSteps {
        store: Arc<MemoryStore>,
        erasures: AtomicUsize,
        old: PhoneKey,
        new: PhoneKey,
        confirm: bool,
        now: i64,
    }

    #[async_trait]
    impl AccountDeletions for PhoneChangeBetweenSteps {
        async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
            self.store.sweep_account(user_id).await
        }

        async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
            if self.erasures.fetch_add(1, Ordering::SeqCst) == 0 {
                let account = &erasure.account;
                let code_id = phone_change_code(&self.store, &self.new, &account.user_id, self.now).await;
                if self.confirm {
                    let change = PhoneMove {
                        new: &self.new,
                        old: &self.old,
                        code_id: &code_id,
                        user_id: &account.user_id,
                        expected_version: account.profile_version,
                        issued_at: self.now,
                        now: self.now,
                        events: Vec::new(),
                    };
                    self.store.move_phone(change).await?;
                }
            }
            self.store.erase_account(erasure).await
        }

        async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
            self.store.deletion_records(merchant_id).await
        }
    }

    #[tokio::test]
    async fn a_phone_change_between_the_read_and_the_erasure_is_erased_too_and_no_claim_or_code_is_left() {
        for confirm in [true, false] {
            // GIVEN an account, and a phone change that will be asked for (and confirmed, or not)
            // right after the deletion read the account
            let mut t = TestApp::new().await;
            t.registered("+447871000042", "Erasure-pass-42").await;
            let user_id = t.store.account_for_phone("+447871000042").await.unwrap();
            let (old, new) = (phone_key("+447871000042"), phone_key("+447871000043"));
            let now = t.app.clock.now();
            let racing = Arc::new(PhoneChangeBetweenSteps {
                store: t.store.clone(),
                erasures: AtomicUsize::new(0),
                old: old.clone(),
                new: new.clone(),
                confirm,
                now,
            });
            t.app.deletions = racing.clone();
            let account = t.store.account(&user_id).await.unwrap().unwrap();

            // WHEN the account is deleted
            erase(&t.app, &t.mailer, &live_partner(), &account, DeletionChannel::App).await.unwrap();

            // THEN the first erasure was refused (the account changed after it was read), and the
            // second left no claim on either number and no code under the new one
            assert_eq!(racing.erasures.load(Ordering::SeqCst), 2, "confirmed: {confirm}");
            assert!(t.store.account(&user_id).await.unwrap().is_none());
            assert_eq!(t.store.account_for_phone("+447871000042").await, None);
            assert_eq!(t.store.account_for_phone("+447871000043").await, None);
            let left = t.store.code(Identifier::Phone(&new), CodePurpose::PhoneChange).await.unwrap();
            assert!(left.is_none(), "confirmed: {confirm}: {left:?}");
        }
    }

    #[tokio::test]
    async fn a_sign_in_between_the_sweep_and_the_erasure_is_swept_too() {
        // GIVEN an account, and a sign-in that will start a session right after the first sweep
        let mut t = TestApp::new().await;
        t.registered("+447871000041", "Erasure-pass-41").await;
        let user_id = t.store.account_for_phone("+447871000041").await.unwrap();
        let racing = Arc::new(SignInBetweenSteps { store: t.store.clone(), erasures: AtomicUsize::new(0) });
        t.app.deletions = racing.clone();
        let account = t.store.account(&user_id).await.unwrap().unwrap();

        // WHEN the account is deleted
        erase(&t.app, &t.mailer, &live_partner(), &account, DeletionChannel::App).await.unwrap();

        // THEN the first erasure was refused, the second round swept the new session, and nothing is left
        assert_eq!(racing.erasures.load(Ordering::SeqCst), 2);
        assert!(t.store.sessions(&user_id).await.unwrap().is_empty());
        assert!(t.store.account(&user_id).await.unwrap().is_none());
        assert_eq!(t.store.deletion_records(&account.merchant_id).await.unwrap().len(), 1);
        // AND the partner has one `account.deleted` event: the refused erasure wrote none
        let events = t.store.events().await;
        let deleted: Vec<_> = events.iter().filter(|e| e.event == AccountEvent::Deleted).collect();
        assert_eq!(deleted.len(), 1, "{events:?}");
        assert_eq!(
            (deleted[0].user_id.as_str(), deleted[0].partner_id.as_str()),
            (user_id.as_str(), account.merchant_id.as_str())
        );
    }

    #[tokio::test]
    async fn a_second_factor_challenge_between_the_sweep_and_the_erasure_is_swept_too() {
        // GIVEN an account, and a sign-in that will open a second-factor challenge right after the
        // first sweep
        let mut t = TestApp::new().await;
        t.registered("+447871000044", "Erasure-pass-44").await;
        let user_id = t.store.account_for_phone("+447871000044").await.unwrap();
        let racing = Arc::new(ChallengeBetweenSteps { store: t.store.clone(), erasures: AtomicUsize::new(0) });
        t.app.deletions = racing.clone();
        let account = t.store.account(&user_id).await.unwrap().unwrap();

        // WHEN the account is deleted
        erase(&t.app, &t.mailer, &live_partner(), &account, DeletionChannel::App).await.unwrap();

        // THEN the first erasure was refused (the account counted a challenge since it was read),
        // and the second round swept the challenge with the account
        assert_eq!(racing.erasures.load(Ordering::SeqCst), 2);
        assert!(t.store.account(&user_id).await.unwrap().is_none());
        assert_eq!(t.store.mfa_challenge("racing-challenge").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_factor_enrolled_between_the_read_and_the_erasure_stops_a_deletion_by_the_page() {
        // GIVEN an account without a factor, deleted on the deletion page (the phone proved only),
        // and an authenticator enrolled right after the page's first read
        let mut t = TestApp::new().await;
        t.registered("+447871000045", "Erasure-pass-45").await;
        let user_id = t.store.account_for_phone("+447871000045").await.unwrap();
        let racing = Arc::new(EnrolmentBetweenSteps { store: t.store.clone(), erasures: AtomicUsize::new(0) });
        t.app.deletions = racing.clone();
        let account = t.store.account(&user_id).await.unwrap().unwrap();

        // WHEN the page's deletion runs
        let refused = erase(&t.app, &t.mailer, &live_partner(), &account, DeletionChannel::Web).await;

        // THEN the erasure as read was refused (the factor is part of its condition), the next
        // round found the factor and stopped, and the account is still there
        assert!(matches!(refused, Err(ApiError::InsufficientAuthentication(_))), "{refused:?}");
        assert_eq!(racing.erasures.load(Ordering::SeqCst), 1);
        assert!(t.store.account(&user_id).await.unwrap().is_some());
        assert!(t.store.deletion_records(&account.merchant_id).await.unwrap().is_empty());
    }
}
