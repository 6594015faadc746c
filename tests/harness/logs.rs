//! Captures what the service logs, through the production subscriber and filter, so tests can check
//! that no secret ever reaches a log line.

use std::io::Write;
use std::sync::{Mutex, Once};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture() {
    INIT.call_once(|| registration::telemetry::init_with_writer(|| Capture));
}

/// Everything logged so far by every test in this process.
pub fn text() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Everything logged so far, each line without its timestamp: its microseconds could look like a
/// six-digit code, and a test that found one there would fail by chance.
pub fn text_without_timestamps() -> String {
    text()
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).expect("every log line is JSON");
            value.as_object_mut().map(|o| o.remove("timestamp"));
            value.to_string() + "\n"
        })
        .collect()
}

/// Whether `secret` was logged as a whole word (not inside a longer id or number), timestamps aside.
pub fn mentions(secret: &str) -> bool {
    contains_word(&text_without_timestamps(), secret)
}

/// `needle` in `haystack` as a whole word, so a code is not "found" inside a longer random id.
pub fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
