//! TOTP against an independent implementation: Python's pyotp, given only the enrolment's
//! `otpauth://` URI, computes codes the service accepts, and the service's codes are pyotp's.

use registration::factors::totp::{Authenticator, TotpSecret};

/// pyotp's code for `uri` at each of `times`, one per line.
pub(crate) fn pyotp_codes(uri: &str, times: &[i64]) -> Vec<String> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script =
        "import sys, pyotp\ntotp = pyotp.parse_uri(sys.argv[1])\nfor t in sys.argv[2:]:\n    print(totp.at(int(t)))";
    let out = std::process::Command::new(python)
        .args(["-c", script, uri])
        .args(times.iter().map(i64::to_string))
        .output()
        .expect("run pyotp (make test installs it into .venv)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn codes_pyotp_computes_from_the_enrolment_uri_are_accepted_and_match_ours() {
    // GIVEN a new authenticator, as an enrolment makes it, and only its URI handed to pyotp
    let secret = TotpSecret::generate();
    let app = Authenticator::new(&secret, "Acme Wallet", "alice@example.com").unwrap();
    let times = [1_800_000_000, 1_800_000_029, 1_800_000_030, 2_000_000_000, 2_100_000_017];
    // WHEN pyotp computes the codes for those times
    let theirs = pyotp_codes(&app.uri(), &times);
    // THEN each is ours, and accepted at its time
    for (time, code) in times.iter().zip(&theirs) {
        assert_eq!(&app.code_at(*time), code, "t = {time}");
        assert_eq!(app.accept(code, *time, None), Some(time.div_euclid(30)), "t = {time}");
    }
}
