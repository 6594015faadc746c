//! Email addresses: validated (RFC 5321 sizes, a dot-atom local part, a DNS domain) and normalised
//! to lowercase, so `Ana@Example.COM` and `ana@example.com` are one address.

use std::fmt;

use crate::error::ApiError;

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;
const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, ApiError> {
        let invalid = |rule, message: &str| ApiError::validation("email", rule, message.to_owned());
        let address = input.trim().to_ascii_lowercase();
        if address.is_empty() {
            return Err(invalid("required", "Enter an email address."));
        }
        if !address.is_ascii() {
            return Err(invalid("ascii", "Use an email address with plain (ASCII) letters."));
        }
        let (local, domain) = address
            .rsplit_once('@')
            .ok_or_else(|| invalid("format", "Enter an email address like name@example.com."))?;
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL
            && local.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= MAX_LABEL
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if address.len() > MAX_LEN || !local_ok || !domain_ok {
            return Err(invalid("format", "Enter an email address like name@example.com."));
        }
        Ok(EmailAddress(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// Keeps logs useful without writing a subscriber's address into them.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", ""));
        format!("{}…@{domain}", local.chars().next().unwrap_or('?'))
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(EmailAddress::parse("  Ana.Lima+kyc@Example.COM ").unwrap().as_str(), "ana.lima+kyc@example.com");
        assert_eq!(EmailAddress::parse("ana@example.co.uk").unwrap().local_part(), "ana");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@localhost",
            "ana@exa mple.com",
            "ana..lima@example.com",
            ".ana@example.com",
            "ana@-example.com",
            "ana@example.c0m",
            "ána@example.com",
            "a\"b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn masked_hides_the_local_part() {
        assert_eq!(EmailAddress::parse("ana.lima@example.com").unwrap().masked(), "a…@example.com");
    }
}
