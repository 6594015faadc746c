//! Personal details (seed 001, step 5): what a user may write, validated field by field. Fields the
//! server owns (KYC level, ids, verification flags) are not part of the type, so they cannot be written.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

static COUNTRIES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../../data/iso-3166-1-alpha-2.txt").lines().collect());

/// The details as stored; every field optional until the user provides it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonalDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// ISO 3166-1 alpha-2, uppercase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// The attribute names, in the order they are stored and checked.
pub const FIELDS: [&str; 7] = ["firstName", "lastName", "birthDate", "country", "city", "address", "postalCode"];

impl PersonalDetails {
    pub fn get(&self, field: &str) -> Option<&str> {
        match field {
            "firstName" => self.first_name.as_deref(),
            "lastName" => self.last_name.as_deref(),
            "birthDate" => self.birth_date.as_deref(),
            "country" => self.country.as_deref(),
            "city" => self.city.as_deref(),
            "address" => self.address.as_deref(),
            "postalCode" => self.postal_code.as_deref(),
            _ => None,
        }
    }

    /// `other`'s fields where it has them, this one's elsewhere.
    pub fn merged(&self, other: &PersonalDetails) -> PersonalDetails {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        PersonalDetails {
            first_name: pick(&self.first_name, &other.first_name),
            last_name: pick(&self.last_name, &other.last_name),
            birth_date: pick(&self.birth_date, &other.birth_date),
            country: pick(&self.country, &other.country),
            city: pick(&self.city, &other.city),
            address: pick(&self.address, &other.address),
            postal_code: pick(&self.postal_code, &other.postal_code),
        }
    }

    /// Every field KYC_0 needs is present.
    pub fn is_complete(&self) -> bool {
        FIELDS.iter().all(|f| self.get(f).is_some())
    }

    /// Validates and normalises a PATCH body. `today` is `(year, month, day)`.
    pub fn validated(self, today: (i32, u32, u32)) -> Result<PersonalDetails, ApiError> {
        Ok(PersonalDetails {
            first_name: self.first_name.map(|v| name("firstName", &v)).transpose()?,
            last_name: self.last_name.map(|v| name("lastName", &v)).transpose()?,
            birth_date: self.birth_date.map(|v| birth_date(&v, today)).transpose()?,
            country: self.country.map(|v| country(&v)).transpose()?,
            city: self.city.map(|v| place("city", &v, 100)).transpose()?,
            address: self.address.map(|v| free_text("address", &v, 200)).transpose()?,
            postal_code: self.postal_code.map(|v| postal_code(&v)).transpose()?,
        })
    }
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::validation(field, "required", format!("{field} must not be empty.")));
    }
    if value.chars().count() > max {
        return Err(ApiError::validation(field, "max_length", format!("{field} must be at most {max} characters.")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "format",
            format!("{field} contains characters that are not allowed."),
        ));
    }
    Ok(value.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn name(field: &'static str, value: &str) -> Result<String, ApiError> {
    let value = bounded(field, value, 100)?;
    if !value.chars().all(|c| c.is_alphabetic() || " -'.’".contains(c)) || !value.chars().any(char::is_alphabetic) {
        return Err(ApiError::validation(
            field,
            "format",
            format!("{field} may contain letters, spaces, hyphens and apostrophes."),
        ));
    }
    Ok(value)
}

fn place(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = bounded(field, value, max)?;
    if !value.chars().any(char::is_alphabetic) {
        return Err(ApiError::validation(field, "format", format!("{field} must contain letters.")));
    }
    Ok(value)
}

fn free_text(field: &'static str, value: &str, max: usize) -> Result<String, ApiError> {
    bounded(field, value, max)
}

fn postal_code(value: &str) -> Result<String, ApiError> {
    // Checked before upper-casing, which turns some letters into several ('ß' into "SS") and some
    // non-ASCII ones into ASCII ('ı' into 'I'): what is stored is what was checked.
    let value = bounded("postalCode", value, 12)?;
    if value.len() < 2 || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
        return Err(ApiError::validation(
            "postalCode",
            "format",
            "postalCode may contain letters, digits, spaces and hyphens.",
        ));
    }
    Ok(value.to_ascii_uppercase())
}

fn country(value: &str) -> Result<String, ApiError> {
    let code = value.trim().to_ascii_uppercase();
    if !COUNTRIES.contains(code.as_str()) {
        return Err(ApiError::validation(
            "country",
            "iso_3166_1",
            "country must be an ISO 3166-1 alpha-2 code, such as GB.",
        ));
    }
    Ok(code)
}

/// A real calendar date, not in the future, at most 130 years ago.
fn birth_date(value: &str, today: (i32, u32, u32)) -> Result<String, ApiError> {
    let invalid = |rule, message: &str| ApiError::validation("birthDate", rule, message.to_owned());
    let value = value.trim();
    let parts: Vec<&str> = value.split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            (y.parse::<i32>().ok(), m.parse::<u32>().ok(), d.parse::<u32>().ok())
        }
        _ => (None, None, None),
    };
    let (Some(year), Some(month), Some(day)) = parsed else {
        return Err(invalid("format", "birthDate must be a date like 1990-04-23."));
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(invalid("format", "birthDate is not a real date."));
    }
    if (year, month, day) > today {
        return Err(invalid("future", "birthDate cannot be in the future."));
    }
    if (year, month, day) < (today.0 - 130, today.1, today.2) {
        return Err(invalid("too_old", "birthDate is more than 130 years ago."));
    }
    Ok(value.to_owned())
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The UTC calendar date of a Unix time (Howard Hinnant's days-to-civil).
pub fn civil_date(unix_secs: i64) -> (i32, u32, u32) {
    let z = unix_secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i32, u32, u32) = (2026, 11, 22);

    fn rule(details: PersonalDetails) -> (&'static str, &'static str) {
        match details.validated(TODAY) {
            Err(ApiError::Validation { field, rule, .. }) => (field, rule),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn civil_date_matches_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_795_320_720), (2026, 11, 22));
    }

    #[test]
    fn valid_details_are_normalised() {
        let details = PersonalDetails {
            first_name: Some("  Ana  Maria ".into()),
            last_name: Some("O'Neil-Lima".into()),
            birth_date: Some("2000-02-29".into()),
            country: Some("gb".into()),
            city: Some("London".into()),
            address: Some("10 Downing St, Flat 2".into()),
            postal_code: Some("sw1a 2aa".into()),
        }
        .validated(TODAY)
        .unwrap();
        assert_eq!(details.first_name.as_deref(), Some("Ana Maria"));
        assert_eq!(details.country.as_deref(), Some("GB"));
        assert_eq!(details.postal_code.as_deref(), Some("SW1A 2AA"));
        assert!(details.is_complete());
    }

    #[test]
    fn invalid_dates_countries_and_names_name_their_field() {
        let with = |f: fn(&mut PersonalDetails)| {
            let mut d = PersonalDetails::default();
            f(&mut d);
            d
        };
        assert_eq!(rule(with(|d| d.birth_date = Some("2001-02-29".into()))), ("birthDate", "format"));
        assert_eq!(rule(with(|d| d.birth_date = Some("23/04/1990".into()))), ("birthDate", "format"));
        assert_eq!(rule(with(|d| d.birth_date = Some("2030-01-01".into()))), ("birthDate", "future"));
        assert_eq!(rule(with(|d| d.birth_date = Some("1890-01-01".into()))), ("birthDate", "too_old"));
        assert_eq!(rule(with(|d| d.country = Some("UK".into()))), ("country", "iso_3166_1"));
        assert_eq!(rule(with(|d| d.country = Some("GBR".into()))), ("country", "iso_3166_1"));
        assert_eq!(rule(with(|d| d.first_name = Some("R2-D2".into()))), ("firstName", "format"));
        assert_eq!(rule(with(|d| d.last_name = Some("   ".into()))), ("lastName", "required"));
        assert_eq!(rule(with(|d| d.city = Some("x".repeat(101)))), ("city", "max_length"));
        assert_eq!(rule(with(|d| d.postal_code = Some("<script>".into()))), ("postalCode", "format"));
    }

    #[test]
    fn merge_keeps_what_the_patch_does_not_name() {
        let stored =
            PersonalDetails { first_name: Some("Ana".into()), city: Some("Porto".into()), ..Default::default() };
        let patch = PersonalDetails { city: Some("Lisbon".into()), ..Default::default() };
        let merged = stored.merged(&patch);
        assert_eq!((merged.first_name.as_deref(), merged.city.as_deref()), (Some("Ana"), Some("Lisbon")));
    }
}
