//! Test support for the crate's own unit tests (and, with the `testing` feature, anyone's): the
//! store in memory, senders that record what they would send, a clock tests move, and an `App`
//! wired from them. The store keeps every condition the DynamoDB adapter writes, so handler logic
//! (grace windows, back-off, attempts, KYC rules) can be tested without an emulator; the
//! end-to-end tests keep testing the real adapters on moto.

mod flows;
pub mod memory;
mod requests;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::App;
use crate::domain::email::EmailAddress;
use crate::domain::phone::PhoneNumber;
use crate::mail::Mailer;
use crate::ports::{Clock, EmailMessage, EmailSender, SecretSealer, SendError, SmsSender, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::tokens::{SigningKey, TokenIssuer};
pub use flows::bearer;
pub use memory::MemoryStore;
pub use requests::{MERCHANT, Reply, live_partner, request};

/// Seals a factor secret in the clear, tagged with its account: what unit tests use in place of
/// KMS, refusing to open it for another account as the encryption context makes KMS refuse.
pub struct PlainSealer;

#[async_trait]
impl SecretSealer for PlainSealer {
    async fn seal(&self, user_id: &str, secret: &[u8]) -> Result<String, StoreError> {
        Ok(format!("{user_id}:{}", crate::security::random::hex(secret)))
    }

    async fn open(&self, user_id: &str, sealed: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        match sealed.split_once(':') {
            Some((owner, hex)) if owner == user_id => crate::security::random::decode_hex(hex)
                .map(zeroize::Zeroizing::new)
                .ok_or_else(|| StoreError::Backend("not hex".into())),
            _ => Err(StoreError::Backend("sealed for another account".into())),
        }
    }
}

/// A clock that stands still until a test moves it.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(now: i64) -> Self {
        ManualClock(AtomicI64::new(now))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Keeps every SMS instead of sending it.
#[derive(Default)]
pub struct RecordedSms(pub Mutex<Vec<(String, String)>>);

impl RecordedSms {
    /// The texts sent to `e164`, oldest first.
    pub fn to(&self, e164: &str) -> Vec<String> {
        let sent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter().filter(|(to, _)| to == e164).map(|(_, text)| text.clone()).collect()
    }
}

#[async_trait]
impl SmsSender for RecordedSms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((to.e164().to_owned(), text.to_owned()));
        Ok(())
    }
}

/// Keeps every email instead of sending it.
#[derive(Default)]
pub struct RecordedEmail(pub Mutex<Vec<(String, EmailMessage)>>);

#[async_trait]
impl EmailSender for RecordedEmail {
    async fn send(&self, to: &EmailAddress, message: &EmailMessage) -> Result<(), SendError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((to.as_str().to_owned(), message.clone()));
        Ok(())
    }
}

/// An `App` on the memory store, recorded SMS and email and a manual clock, with the live partner
/// of `events/` registered, and the token keys and mailer the handlers take.
pub struct TestApp {
    pub app: App,
    pub store: Arc<MemoryStore>,
    pub sms: Arc<RecordedSms>,
    pub email: Arc<RecordedEmail>,
    pub clock: Arc<ManualClock>,
    pub issuer: TokenIssuer,
    pub verifier: AccessTokenVerifier,
    pub mailer: Mailer,
}

impl TestApp {
    #[allow(clippy::expect_used)]
    pub async fn new() -> TestApp {
        use crate::ports::PartnerRegistry;
        let store = Arc::new(MemoryStore::default());
        let sms = Arc::new(RecordedSms::default());
        let email = Arc::new(RecordedEmail::default());
        let clock = Arc::new(ManualClock::at(1_800_000_000));
        let mut app = App::new(store.clone(), sms.clone(), clock.clone(), b"pepper-pepper-pepper-pepper-32by");
        app.partners.ttl = std::time::Duration::ZERO;
        app.sealer = Arc::new(PlainSealer);
        store.add_partner(&live_partner()).await.expect("a new partner");
        let key = Arc::new(SigningKey::generate("unit-1").expect("a P-256 key"));
        let issuer = TokenIssuer::new(key, "https://registration.test", crate::config::DEFAULT_AUDIENCE);
        let verifier = AccessTokenVerifier::new(issuer.keys());
        let mailer = Mailer::new(email.clone(), "https://registration.test");
        TestApp { app, store, sms, email, clock, issuer, verifier, mailer }
    }

    /// The six digits of the latest SMS to `e164`.
    pub fn latest_code(&self, e164: &str) -> String {
        let texts = self.sms.to(e164);
        texts.last().map(|t| t.chars().take_while(char::is_ascii_digit).collect()).unwrap_or_default()
    }
}
