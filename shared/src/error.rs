//! The one error type every endpoint answers with, and the single table that maps it to a status,
//! a stable machine code and a stable number (the seed 002 envelope).

use serde_json::{Map, Value, json};

use crate::factors::step_up::Requirement;

/// Identifies this component in the envelope's `systemId`.
pub const SYSTEM_ID: &str = "registration";

/// Everything a handler can answer besides success. Variants carry only what may be shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON for this endpoint")]
    MalformedBody { field: Option<String>, detail: String },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("header {header} is missing or invalid")]
    BadHeader { header: &'static str, message: &'static str },
    #[error("{field} is invalid: {rule}")]
    Validation { field: &'static str, rule: &'static str, message: String, data: Map<String, Value> },
    #[error("the code is not correct")]
    CodeMismatch { attempts_remaining: u32 },
    #[error("the code is no longer valid")]
    CodeNoLongerValid,
    #[error("too many requests; retry after {retry_after}s")]
    TooManyRequests { retry_after: u64 },
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// An RFC 6749 section 5.2 error from the token endpoint; `error` carries the RFC code.
    #[error("oauth error {error:?}")]
    OAuth { error: OAuthError, message: &'static str },
    /// The password was right and the account has a second factor: `grant_type=mfa` with
    /// `mfa_token` and one of `factors` completes the sign-in. Only the password's owner sees it.
    #[error("a second factor is required")]
    MfaRequired { mfa_token: String, factors: Vec<&'static str>, expires_in: i64 },
    /// The token is valid but its session has not proved enough, or not recently enough, for this
    /// operation (RFC 9470): `grant_type=step_up` raises it, and the request can be sent again.
    #[error("a more recent or stronger authentication is needed")]
    InsufficientAuthentication(Requirement),
    /// A code by SMS asked to step up an account that has a second factor: it steps up with that
    /// factor (or a recovery code), never with its phone alone.
    #[error("the account steps up with its second factor")]
    SecondFactorEnrolled,
    /// A factor id that is not the account's (unknown, removed, or another account's: one answer
    /// for all), or regenerating recovery codes of an account without a factor.
    #[error("no such second factor")]
    FactorNotFound,
    /// The partner requires a second factor and the account has none: its tokens only let it
    /// enrol one (and sign out) until it does.
    #[error("the partner requires a second factor")]
    SecondFactorRequired,
    /// The partner has second factors off: nothing can be enrolled.
    #[error("the partner offers no second factor")]
    SecondFactorNotOffered,
    /// A step-up code asked for a phone added or moved onto the account less than a day ago: it
    /// cannot open a first enrolment yet (`AccountRecord::phone_settled`).
    #[error("the phone is too new to step up with")]
    PhoneNotSettled { retry_after: u64 },
    /// Missing, invalid, expired or revoked bearer token. Why is for the log only.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("the SMS could not be sent")]
    SmsUnavailable,
    #[error("the email could not be sent")]
    EmailUnavailable,
    #[error("the confirmation link is not valid")]
    LinkInvalid,
    #[error("the confirmation link has expired")]
    LinkExpired,
    #[error("the email address belongs to another account")]
    EmailInUse,
    /// Adding a phone to an account that already has one (`PUT /v2/mobile/phone/change` moves it).
    #[error("the account already has a confirmed phone")]
    PhoneAlreadySet,
    /// Changing the phone of an account that has none (`PUT /v2/mobile/phone/add` adds one).
    #[error("the account has no confirmed phone")]
    PhoneNotSet,
    /// Codes by SMS as the second factor of an account without a confirmed address: its password
    /// would then be reset by the same SIM that passes the second step.
    #[error("the account has no confirmed email address")]
    EmailNotSet,
    /// A session id that is not one of the caller's live sessions (unknown, ended, or another
    /// account's or partner's: one answer for all, so ids of others tell nothing).
    #[error("no such session")]
    SessionNotFound,
    #[error("a dependency is throttling or unavailable")]
    Unavailable,
    #[error("the X-Merchant-ID names no registered partner")]
    PartnerUnknown,
    #[error("the partner is disabled")]
    PartnerDisabled,
    /// Behind CloudFront, a request that did not come through the distribution (`edge.rs`).
    #[error("the request did not come through the edge distribution")]
    NotThroughEdge,
    /// A partner with a signing secret sent a request without a valid `X-Signature`.
    #[error("request signature rejected: {0}")]
    Signature(&'static str),
    #[error("the partner does not send SMS to this country")]
    SmsCountryNotAllowed { allowed: Vec<String> },
    #[error("the partner's daily SMS budget is spent")]
    SmsBudgetExhausted { retry_after: u64 },
    /// The caller's partner has not turned identity verification with Sumsub on.
    #[error("identity verification is not enabled for this partner")]
    KycNotEnabled,
    /// Identity verification starts at KYC_0 (phone, email and personal details).
    #[error("the account is below KYC_0")]
    Kyc0Required,
    #[error("the account's identity is already verified")]
    KycAlreadyVerified,
    /// Sumsub's final RED: no further attempt through this service.
    #[error("the account's identity verification was finally rejected")]
    KycRejected,
    /// A Sumsub webhook whose digest does not verify, or for a partner without Sumsub. Why is for the
    /// log only.
    #[error("webhook refused: {0}")]
    WebhookSignature(&'static str),
    /// The detail is for the log only; the client sees the seed's generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The RFC 6749 section 5.2 codes the token endpoint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidGrant,
    UnsupportedGrantType,
}

impl ApiError {
    /// RFC 6749 section 5.2 `invalid_request`: a parameter is missing, repeated or malformed.
    pub fn invalid_request(message: &'static str) -> ApiError {
        ApiError::OAuth { error: OAuthError::InvalidRequest, message }
    }

    /// RFC 6749 section 5.2 `invalid_grant`: the credentials or the refresh token are not good.
    pub fn invalid_grant(message: &'static str) -> ApiError {
        ApiError::OAuth { error: OAuthError::InvalidGrant, message }
    }
}

impl OAuthError {
    fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    fn id(self) -> u32 {
        match self {
            OAuthError::InvalidRequest => 2001,
            OAuthError::InvalidGrant => 2002,
            OAuthError::UnsupportedGrantType => 2003,
        }
    }
}

/// One row of the status table.
struct Row {
    status: u16,
    code: &'static str,
    id: u32,
}

impl ApiError {
    fn row(&self) -> Row {
        let (status, code, id) = match self {
            ApiError::MalformedBody { .. } => (400, "BAD_REQUEST", 1000),
            ApiError::PayloadTooLarge { .. } => (400, "PAYLOAD_TOO_LARGE", 1003),
            ApiError::BadHeader { .. } => (400, "HEADER", 1002),
            ApiError::Validation { .. } => (400, "VALIDATION", 1001),
            ApiError::CodeMismatch { .. } => (400, "CODE_INVALID", 1101),
            ApiError::CodeNoLongerValid => (400, "CODE_EXPIRED", 1102),
            ApiError::TooManyRequests { .. } => (429, "TOO_MANY_REQUESTS", 1201),
            ApiError::MethodNotAllowed { .. } => (405, "METHOD_NOT_ALLOWED", 1405),
            ApiError::OAuth { error, .. } => (400, error.code(), error.id()),
            ApiError::MfaRequired { .. } => (403, "mfa_required", 2004),
            ApiError::Unauthorized(_) => (401, "UNAUTHORIZED", 1401),
            ApiError::InsufficientAuthentication(_) => (401, "INSUFFICIENT_USER_AUTHENTICATION", 1407),
            ApiError::SecondFactorEnrolled => (409, "SECOND_FACTOR_ENROLLED", 1408),
            ApiError::FactorNotFound => (404, "FACTOR_NOT_FOUND", 1602),
            ApiError::PhoneNotSettled { .. } => (409, "PHONE_NOT_SETTLED", 1506),
            ApiError::SecondFactorRequired => (403, "SECOND_FACTOR_REQUIRED", 1409),
            ApiError::SecondFactorNotOffered => (403, "SECOND_FACTOR_NOT_OFFERED", 1410),
            ApiError::SmsUnavailable => (503, "SMS_UNAVAILABLE", 1301),
            ApiError::EmailUnavailable => (503, "EMAIL_UNAVAILABLE", 1303),
            ApiError::LinkInvalid => (400, "LINK_INVALID", 1501),
            ApiError::LinkExpired => (400, "LINK_EXPIRED", 1502),
            ApiError::EmailInUse => (409, "EMAIL_IN_USE", 1503),
            ApiError::PhoneAlreadySet => (409, "PHONE_ALREADY_SET", 1504),
            ApiError::PhoneNotSet => (409, "PHONE_NOT_SET", 1505),
            ApiError::EmailNotSet => (409, "EMAIL_NOT_SET", 1507),
            ApiError::SessionNotFound => (404, "SESSION_NOT_FOUND", 1601),
            ApiError::Unavailable => (503, "UNAVAILABLE", 1302),
            ApiError::PartnerUnknown => (401, "PARTNER_UNKNOWN", 1402),
            ApiError::PartnerDisabled => (403, "PARTNER_DISABLED", 1403),
            ApiError::NotThroughEdge => (403, "NOT_THROUGH_EDGE", 1406),
            ApiError::Signature(_) => (401, "SIGNATURE_INVALID", 1404),
            ApiError::SmsCountryNotAllowed { .. } => (400, "SMS_COUNTRY_NOT_ALLOWED", 1304),
            ApiError::SmsBudgetExhausted { .. } => (429, "SMS_BUDGET_EXHAUSTED", 1202),
            ApiError::KycNotEnabled => (403, "KYC_NOT_ENABLED", 1701),
            ApiError::Kyc0Required => (403, "KYC_0_REQUIRED", 1702),
            ApiError::KycAlreadyVerified => (409, "KYC_ALREADY_VERIFIED", 1703),
            ApiError::KycRejected => (403, "KYC_REJECTED", 1704),
            ApiError::WebhookSignature(_) => (401, "WEBHOOK_SIGNATURE_INVALID", 1705),
            ApiError::Internal(_) => (500, "COMMON", 0),
        };
        Row { status, code, id }
    }

    pub fn status(&self) -> u16 {
        self.row().status
    }

    /// The stable machine code, also used as the outcome in logs.
    pub fn code(&self) -> &'static str {
        self.row().code
    }

    /// Seconds a client should wait, sent both as `Retry-After` and `data.retryAfter`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after }
            | ApiError::SmsBudgetExhausted { retry_after }
            | ApiError::PhoneNotSettled { retry_after } => Some(*retry_after),
            ApiError::SmsUnavailable | ApiError::EmailUnavailable | ApiError::Unavailable => Some(5),
            _ => None,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::MalformedBody { field, .. } => field.clone(),
            ApiError::BadHeader { header, .. } => Some((*header).to_owned()),
            ApiError::Validation { field, .. } => Some((*field).to_owned()),
            ApiError::CodeMismatch { .. } | ApiError::CodeNoLongerValid => Some("code".to_owned()),
            ApiError::SmsCountryNotAllowed { .. } | ApiError::PhoneAlreadySet | ApiError::PhoneNotSet => {
                Some("phone".to_owned())
            }
            ApiError::EmailNotSet => Some("email".to_owned()),
            ApiError::PartnerUnknown | ApiError::PartnerDisabled => Some("X-Merchant-ID".to_owned()),
            ApiError::Signature(_) => Some("X-Signature".to_owned()),
            ApiError::WebhookSignature(_) => Some("X-Payload-Digest".to_owned()),
            _ => None,
        }
    }

    /// The message the envelope carries: safe to show (never an internal detail).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::MalformedBody { detail, .. } => format!("The request body is not valid: {detail}"),
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            ApiError::BadHeader { message, .. } => (*message).to_owned(),
            ApiError::Validation { message, .. } => message.clone(),
            ApiError::CodeMismatch { attempts_remaining: 0 } => {
                "The code is not correct and no attempts remain. Ask for a new code.".to_owned()
            }
            ApiError::CodeMismatch { .. } => "The code is not correct.".to_owned(),
            ApiError::CodeNoLongerValid => {
                "This code has expired or has already been used. Ask for a new code.".to_owned()
            }
            ApiError::TooManyRequests { .. } => "Too many requests. Try again later.".to_owned(),
            ApiError::MethodNotAllowed { .. } => "This method is not allowed on this path.".to_owned(),
            ApiError::OAuth { message, .. } => (*message).to_owned(),
            ApiError::MfaRequired { .. } => {
                "A second factor is required: send grant_type=mfa with the mfa_token and a code.".to_owned()
            }
            ApiError::Unauthorized(_) => "The access token is missing, invalid or expired. Sign in again.".to_owned(),
            ApiError::InsufficientAuthentication(_) => {
                "This needs a recent sign-in with the second factor: send grant_type=step_up, then this request again."
                    .to_owned()
            }
            ApiError::SecondFactorEnrolled => {
                "This account already has a second factor: step up with it or a recovery code, and remove it before \
enrolling another."
                    .to_owned()
            }
            ApiError::FactorNotFound => "This account has no such second factor.".to_owned(),
            ApiError::SecondFactorRequired => {
                "This app requires a second factor: enrol an authenticator app or codes by SMS \
(POST /v2/customer/factors/totp or /v2/customer/factors/sms) first."
                    .to_owned()
            }
            ApiError::SecondFactorNotOffered => "This app does not offer second factors.".to_owned(),
            ApiError::PhoneNotSettled { .. } => {
                "This phone number was added to the account less than a day ago: a code to it can open an \
enrolment once a day has passed."
                    .to_owned()
            }
            ApiError::SmsUnavailable => "The SMS could not be sent right now. Try again in a few seconds.".to_owned(),
            ApiError::EmailUnavailable => {
                "The email could not be sent right now. Try again in a few seconds.".to_owned()
            }
            ApiError::LinkInvalid => {
                "This link is not valid or has already been used. Ask the app for a new one.".to_owned()
            }
            ApiError::LinkExpired => "This link has expired. Ask the app for a new one.".to_owned(),
            ApiError::EmailInUse => "This email address is already in use by another account.".to_owned(),
            ApiError::PhoneAlreadySet => {
                "This account already has a confirmed phone number; change it with PUT /v2/mobile/phone/change."
                    .to_owned()
            }
            ApiError::PhoneNotSet => {
                "This account has no confirmed phone number; add one with PUT /v2/mobile/phone/add."
                    .to_owned()
            }
            ApiError::EmailNotSet => {
                "Codes by SMS need a confirmed email address on the account, by which its password is then reset: \
add one with PUT /v2/mobile/email/add first."
                    .to_owned()
            }
            ApiError::SessionNotFound => "This account has no such live session.".to_owned(),
            ApiError::Unavailable => "The service is busy. Try again in a few seconds.".to_owned(),
            ApiError::PartnerUnknown => "The X-Merchant-ID header names no registered partner.".to_owned(),
            ApiError::PartnerDisabled => "This partner is disabled. Contact the service operator.".to_owned(),
            ApiError::NotThroughEdge => "This API is served only at its public address.".to_owned(),
            ApiError::Signature(why) => format!("The request signature is not accepted: {why}."),
            ApiError::SmsCountryNotAllowed { .. } => {
                "SMS cannot be sent to numbers of this country. Use a number from an allowed country.".to_owned()
            }
            ApiError::SmsBudgetExhausted { .. } => "No more SMS can be sent today. Try again later.".to_owned(),
            ApiError::KycNotEnabled => "Identity verification is not available for this app.".to_owned(),
            ApiError::Kyc0Required => {
                "Confirm the phone and the email and complete the personal details (KYC_0) before identity verification."
                    .to_owned()
            }
            ApiError::KycAlreadyVerified => "This account's identity is already verified.".to_owned(),
            ApiError::KycRejected => {
                "This account's identity verification was declined. Contact the app's support.".to_owned()
            }
            ApiError::WebhookSignature(_) => "The webhook's payload digest is not accepted.".to_owned(),
            ApiError::Internal(_) => {
                "Sorry for inconvenience. We're fixing the issue. If you have urgent questions, contact support"
                    .to_owned()
            }
        }
    }

    fn data(&self) -> Map<String, Value> {
        let mut data = match self {
            ApiError::Validation { rule, data, .. } => {
                let mut d = data.clone();
                d.insert("rule".into(), json!(rule));
                d
            }
            ApiError::CodeMismatch { attempts_remaining } => {
                Map::from_iter([("attemptsRemaining".to_owned(), json!(attempts_remaining))])
            }
            ApiError::CodeNoLongerValid => Map::from_iter([("attemptsRemaining".to_owned(), json!(0))]),
            ApiError::PayloadTooLarge { limit } => Map::from_iter([("limit".to_owned(), json!(limit))]),
            ApiError::SmsCountryNotAllowed { allowed } => {
                Map::from_iter([("allowedCountries".to_owned(), json!(allowed))])
            }
            ApiError::InsufficientAuthentication(needed) => Map::from_iter([
                ("acrValues".to_owned(), json!(needed.level.as_str())),
                ("maxAge".to_owned(), json!(needed.max_age)),
            ]),
            ApiError::MfaRequired { mfa_token, factors, expires_in } => Map::from_iter([
                ("mfaToken".to_owned(), json!(mfa_token)),
                ("factors".to_owned(), json!(factors)),
                ("expiresIn".to_owned(), json!(expires_in)),
            ]),
            _ => Map::new(),
        };
        if let Some(seconds) = self.retry_after() {
            data.insert("retryAfter".into(), json!(seconds));
        }
        data
    }

    /// The seed 002 envelope. Only client-safe text goes in; `Internal` details never do.
    pub fn envelope(&self) -> Value {
        let row = self.row();
        let mut body = Map::new();
        body.insert("error".into(), json!(row.code));
        body.insert("errorId".into(), json!(row.id));
        body.insert("message".into(), json!(self.public_message()));
        if let Some(field) = self.field() {
            body.insert("field".into(), json!(field));
        }
        body.insert("systemId".into(), json!(SYSTEM_ID));
        let data = self.data();
        if !data.is_empty() {
            body.insert("data".into(), Value::Object(data));
        }
        Value::Object(body)
    }

    pub fn validation(field: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation { field, rule, message: message.into(), data: Map::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_envelope() {
        let err = ApiError::Internal("DynamoDB said: ResourceNotFoundException table xyz".into());
        let body = err.envelope().to_string();
        assert_eq!(err.status(), 500);
        assert!(!body.contains("DynamoDB"), "{body}");
        assert!(body.contains("\"systemId\":\"registration\""));
    }

    #[test]
    fn throttling_carries_retry_after_in_data() {
        let err = ApiError::TooManyRequests { retry_after: 42 };
        assert_eq!(err.status(), 429);
        assert_eq!(err.envelope()["data"]["retryAfter"], 42);
    }

    #[test]
    fn oauth_errors_carry_the_rfc_code_and_the_envelope() {
        let body = ApiError::OAuth { error: OAuthError::InvalidGrant, message: "no" }.envelope();
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["errorId"], 2002);
        assert_eq!(body["message"], "no");
        assert_eq!(ApiError::Unauthorized("expired".into()).status(), 401);
        assert!(!ApiError::Unauthorized("kid k9 unknown".into()).envelope().to_string().contains("k9"));
    }

    #[test]
    fn validation_names_field_and_rule() {
        let body = ApiError::validation("password", "min_length", "too short").envelope();
        assert_eq!(body["field"], "password");
        assert_eq!(body["data"]["rule"], "min_length");
        assert_eq!(body["error"], "VALIDATION");
        assert_eq!(body["errorId"], 1001);
    }
}
