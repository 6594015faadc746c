//! The notice of a sign-in from a new device (partners that turn new-device notices on), for both
//! ways a sign-in completes: the password alone, and the password with a second factor. Decided,
//! and the device marked, before the session starts (which an account deletion sees), so of
//! parallel sign-ins from one new device only the one that made the mark tells the owner; a
//! sign-in that then starts no session removes its mark, so the next one from the device tells.

use aws_lc_rs::digest;

use crate::App;
use crate::domain::partner::Partner;
use crate::domain::send_limits::DAY;
use crate::handlers::notices::{SecurityEvent, confirmed_channels, notify};
use crate::mail::Mailer;
use crate::ports::AccountRecord;
use crate::security::random;

/// What a sign-in will tell: the device's digest when this sign-in made its mark.
pub(super) struct DeviceNotice {
    marked: Option<String>,
}

impl DeviceNotice {
    /// For a sign-in of `user_id` from `fingerprint` (the `X-Fingerprint` the sign-in sent).
    pub(super) async fn prepare(
        app: &App,
        partner: &Partner,
        user_id: &str,
        fingerprint: Option<&str>,
        now: i64,
    ) -> DeviceNotice {
        let new_device = match fingerprint {
            Some(fingerprint) if is_new_device(app, partner, user_id, fingerprint).await => {
                Some(device_digest(fingerprint))
            }
            _ => None,
        };
        let marked = match new_device {
            Some(device) if tells_of_device(app, user_id, &device, now).await => Some(device),
            _ => None,
        };
        DeviceNotice { marked }
    }

    /// No session started: nobody is told, and the next sign-in from the device tells.
    pub(super) async fn abandon(self, app: &App, user_id: &str) {
        if let Some(device) = &self.marked
            && let Err(unmark) = app.store.unmark_device(user_id, device).await
        {
            tracing::warn!(error = %unmark, "device mark not removed");
        }
    }

    /// The session started: the owner is told on every confirmed channel.
    pub(super) async fn send(self, app: &App, mailer: &Mailer, partner: &Partner, account: &AccountRecord, now: i64) {
        if self.marked.is_some() {
            notify(app, mailer, partner, &confirmed_channels(account), &SecurityEvent::NewDeviceSignIn, now).await;
        }
    }
}

/// How long a device mark stands: long enough for every parallel sign-in from the device to meet
/// it; after that the device's session shows it is not new.
const DEVICE_MARK_SECS: i64 = DAY;

/// What a device mark keeps in place of the fingerprint a client sent: its SHA-256, in hex.
fn device_digest(fingerprint: &str) -> String {
    random::hex(digest::digest(&digest::SHA256, fingerprint.as_bytes()).as_ref())
}

/// Whether this sign-in is the one that tells the owner of the new device: it made the device's
/// mark. A store that cannot say tells (a second notice is better than none).
async fn tells_of_device(app: &App, user_id: &str, device: &str, now: i64) -> bool {
    match app.store.mark_device_told(user_id, device, now, now + DEVICE_MARK_SECS).await {
        Ok(made) => made,
        Err(err) => {
            tracing::warn!(error = %err, "device mark not written; telling anyway");
            true
        }
    }
}

/// Whether the partner wants new-device notices and no session of the account, live or ended, was
/// started from this fingerprint. Without a fingerprint there is nothing to compare: no notice.
async fn is_new_device(app: &App, partner: &Partner, user_id: &str, fingerprint: &str) -> bool {
    if !partner.new_device_notices {
        return false;
    }
    match app.store.sessions(user_id).await {
        Ok(sessions) => !sessions.iter().any(|s| s.fingerprint.as_deref() == Some(fingerprint)),
        Err(err) => {
            tracing::warn!(error = %err, "sessions not read; no new-device notice");
            false
        }
    }
}
