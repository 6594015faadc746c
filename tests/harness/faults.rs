//! The test doubles: a clock tests can move, and wrappers of the real SNS, SES, KMS and deletion
//! adapters that fail on command.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use async_trait::async_trait;
use registration::domain::email::EmailAddress;
use registration::domain::phone::PhoneNumber;
use registration::ports::{
    AccountDeletions, Clock, DeletionRecord, EmailMessage, EmailSender, Erasure, SendError, SignError, SmsSender,
    StoreError, SystemClock, TokenSigner,
};
use registration::security::tokens::PublicKey;

pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn starting_now() -> Self {
        TestClock(AtomicI64::new(SystemClock.now()))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The real sender, unless told to fail.
pub struct FlakySms {
    inner: Arc<dyn SmsSender>,
    failing: AtomicBool,
    attempts: AtomicUsize,
}

impl FlakySms {
    pub fn wrapping(inner: Arc<dyn SmsSender>) -> Self {
        FlakySms { inner, failing: AtomicBool::new(false), attempts: AtomicUsize::new(0) }
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many sends were asked for, delivered or not.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SmsSender for FlakySms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SendError("injected: SNS is down".into()));
        }
        self.inner.send(to, text).await
    }
}

/// The real SES sender, unless told to fail.
pub struct FlakyEmail {
    inner: Arc<dyn EmailSender>,
    failing: AtomicBool,
    attempts: AtomicUsize,
}

impl FlakyEmail {
    pub fn wrapping(inner: Arc<dyn EmailSender>) -> Self {
        FlakyEmail { inner, failing: AtomicBool::new(false), attempts: AtomicUsize::new(0) }
    }

    /// How many sends were tried, failed or not.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl EmailSender for FlakyEmail {
    async fn send(&self, to: &EmailAddress, message: &EmailMessage) -> Result<(), SendError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SendError("injected: SES is down".into()));
        }
        self.inner.send(to, message).await
    }
}

/// The real deletion steps on the table, unless told to fail the erasure once: the fault of a
/// deletion stopped between its sweep and its transaction.
pub struct FlakyDeletions {
    inner: Arc<dyn AccountDeletions>,
    fail_next_erase: AtomicBool,
}

impl FlakyDeletions {
    pub fn wrapping(inner: Arc<dyn AccountDeletions>) -> Self {
        FlakyDeletions { inner, fail_next_erase: AtomicBool::new(false) }
    }

    /// The next erasure fails as if DynamoDB were unavailable, after its sweep ran.
    pub fn fail_next_erase(&self) {
        self.fail_next_erase.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl AccountDeletions for FlakyDeletions {
    async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
        self.inner.sweep_account(user_id).await
    }

    async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
        if self.fail_next_erase.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected: the erasure transaction failed".into()));
        }
        self.inner.erase_account(erasure).await
    }

    async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
        self.inner.deletion_records(merchant_id).await
    }
}

/// The real KMS signer, unless told to answer as a throttled KMS does.
pub struct FlakySigner {
    inner: Arc<dyn TokenSigner>,
    failing: AtomicBool,
    signs: AtomicUsize,
}

impl FlakySigner {
    pub fn wrapping(inner: Arc<dyn TokenSigner>) -> Self {
        FlakySigner { inner, failing: AtomicBool::new(false), signs: AtomicUsize::new(0) }
    }

    /// How many signatures KMS was asked for.
    pub fn signs(&self) -> usize {
        self.signs.load(Ordering::SeqCst)
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl TokenSigner for FlakySigner {
    fn public_key(&self) -> &PublicKey {
        self.inner.public_key()
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        self.signs.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SignError::Unavailable("injected: KMS ThrottlingException".into()));
        }
        self.inner.sign(message).await
    }
}
