//! How a session was authenticated, as RFC 8176 and RFC 9470 name it: the methods used (`amr`),
//! the level they reach (`acr`: `aal1`, `aal2`, in NIST SP 800-63B's terms) and when the user last
//! authenticated (`auth_time`). Set when a session starts, kept by every refresh (a refresh
//! proves possession of the refresh token, not of the user's factors: it never raises the level or
//! moves `auth_time`), and raised only by a grant that checks another factor.
//!
//! The level is derived from the methods, never stored apart from them, so a method added later
//! (a passkey with user verification, "hwk" and "user") says for itself what it proves.

use serde::{Deserialize, Serialize};

/// An authentication method, by its RFC 8176 name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Something the user knows: the account's password.
    Pwd,
    /// A one-time code from an authenticator app (TOTP, RFC 6238).
    Otp,
    /// A code sent by SMS to the account's confirmed phone.
    Sms,
    /// A recovery code: a look-up secret, something the user has (NIST SP 800-63B 5.1.2). RFC 8176
    /// registers no name for it; `recovery` says which way round a lost factor was used.
    Recovery,
}

impl Method {
    /// What kind of factor it is: two methods of one kind are one factor.
    fn kind(self) -> FactorKind {
        match self {
            Method::Pwd => FactorKind::Knowledge,
            Method::Otp | Method::Sms | Method::Recovery => FactorKind::Possession,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
            Method::Otp => "otp",
            Method::Sms => "sms",
            Method::Recovery => "recovery",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "pwd" => Some(Method::Pwd),
            "otp" => Some(Method::Otp),
            "sms" => Some(Method::Sms),
            "recovery" => Some(Method::Recovery),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FactorKind {
    Knowledge,
    Possession,
}

/// The authentication assurance level (`acr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// One factor.
    Aal1,
    /// Two factors of different kinds (PSD2's strong customer authentication needs two of
    /// knowledge, possession and inherence).
    Aal2,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Aal1 => "aal1",
            Level::Aal2 => "aal2",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "aal1" => Some(Level::Aal1),
            "aal2" => Some(Level::Aal2),
            _ => None,
        }
    }
}

/// What a session's last authentication proved, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    methods: Vec<Method>,
    auth_time: i64,
}

impl Assurance {
    /// A sign-in with the password alone (and the first session of a new account, whose password
    /// was just chosen: confirming the phone or address proves the contact, not a second factor).
    pub fn password(now: i64) -> Assurance {
        Assurance { methods: vec![Method::Pwd], auth_time: now }
    }

    /// As stored with a session: its methods and time; a session stored before assurance was kept
    /// (no methods) reads as a password sign-in at its start.
    pub fn stored(methods: impl IntoIterator<Item = Method>, auth_time: i64) -> Assurance {
        let mut methods: Vec<Method> = methods.into_iter().collect();
        if methods.is_empty() {
            methods.push(Method::Pwd);
        }
        methods.sort();
        methods.dedup();
        Assurance { methods, auth_time }
    }

    /// What one ceremony proved at `now`: every one of `methods` checked in it (a sign-in's
    /// password and code; a step-up's). Methods are never added to an older assurance: `auth_time`
    /// is one time for all of them, so a password typed again now cannot make a code proved a day
    /// ago count as recent, and a step-up proves what it needs afresh. A password chosen in a
    /// reset was checked against nothing and proves nothing: a reset is never a ceremony here.
    pub fn proved(methods: &[Method], now: i64) -> Assurance {
        Assurance::stored(methods.iter().copied(), now)
    }

    /// Whether any of `methods` is among those proved.
    pub fn includes_any(&self, methods: &[Method]) -> bool {
        self.methods.iter().any(|m| methods.contains(m))
    }

    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    pub fn auth_time(&self) -> i64 {
        self.auth_time
    }

    /// `aal2` once two kinds of factor are among the methods.
    pub fn level(&self) -> Level {
        let mut kinds = self.methods.iter().map(|m| m.kind());
        let first = kinds.next();
        if kinds.any(|k| Some(k) != first) { Level::Aal2 } else { Level::Aal1 }
    }

    /// The `amr` claim: the methods, and `mfa` when they are more than one factor (RFC 8176 §2).
    pub fn amr(&self) -> Vec<&'static str> {
        let mut amr: Vec<&'static str> = self.methods.iter().map(|m| m.as_str()).collect();
        if self.level() == Level::Aal2 {
            amr.push("mfa");
        }
        amr
    }

    /// Whether this is enough for an action that needs `level`, authenticated at most `max_age`
    /// seconds before `now` (RFC 9470's `acr_values` and `max_age`).
    pub fn satisfies(&self, level: Level, max_age: Option<i64>, now: i64) -> bool {
        self.level() >= level && max_age.is_none_or(|age| now - self.auth_time <= age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    #[test]
    fn a_password_alone_is_aal1_and_says_pwd() {
        let signed_in = Assurance::password(T0);
        assert_eq!((signed_in.level(), signed_in.amr(), signed_in.auth_time()), (Level::Aal1, vec!["pwd"], T0));
    }

    #[test]
    fn a_second_kind_of_factor_makes_aal2_and_mfa_and_moves_auth_time() {
        let stepped = Assurance::proved(&[Method::Pwd, Method::Otp], T0 + 30);
        assert_eq!(
            (stepped.level(), stepped.amr(), stepped.auth_time()),
            (Level::Aal2, vec!["pwd", "otp", "mfa"], T0 + 30)
        );
    }

    #[test]
    fn two_codes_of_the_same_kind_are_one_factor() {
        let two_codes = Assurance::stored([Method::Otp, Method::Sms], T0);
        assert_eq!(two_codes.level(), Level::Aal1);
    }

    #[test]
    fn step_up_needs_the_level_and_a_recent_enough_authentication() {
        let stepped = Assurance::proved(&[Method::Pwd, Method::Sms], T0);
        assert!(stepped.satisfies(Level::Aal2, Some(300), T0 + 300));
        assert!(!stepped.satisfies(Level::Aal2, Some(300), T0 + 301));
        assert!(!Assurance::password(T0).satisfies(Level::Aal2, None, T0));
        assert!(Assurance::password(T0).satisfies(Level::Aal1, None, T0 + 86_400));
    }

    #[test]
    fn a_session_stored_before_assurance_reads_as_a_password_sign_in() {
        assert_eq!(Assurance::stored([], T0), Assurance::password(T0));
    }
}
