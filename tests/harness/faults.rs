//! The two test doubles: a clock tests can move, and an SMS sender that wraps the real SNS adapter
//! and fails on command.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use async_trait::async_trait;
use registration::domain::email::EmailAddress;
use registration::domain::phone::PhoneNumber;
use registration::ports::{Clock, EmailMessage, EmailSender, SendError, SmsSender, SystemClock};

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
