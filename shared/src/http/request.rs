//! Headers and bodies, validated before any handler logic sees them. Every failure is a 4xx envelope.

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// api.md: larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_VERSION_LEN: usize = 16;
const MAX_FINGERPRINT_LEN: usize = 256;

/// The headers every endpoint requires (seed 002), validated.
#[derive(Debug, Clone)]
pub struct PartnerHeaders {
    /// Lowercase hyphenated UUID.
    pub merchant_id: String,
    pub version: String,
    pub fingerprint: Option<String>,
}

fn header<'a>(req: &'a Request, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    match req.headers().get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(|v| Some(v.trim())).map_err(|_| ApiError::BadHeader {
            header: name,
            message: "The header contains characters that are not allowed.",
        }),
    }
}

impl PartnerHeaders {
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let merchant = header(req, "X-Merchant-ID")?
            .filter(|v| !v.is_empty())
            .ok_or(ApiError::BadHeader { header: "X-Merchant-ID", message: "The X-Merchant-ID header is required." })?;
        let merchant_id = uuid::Uuid::try_parse(merchant)
            .map_err(|_| ApiError::BadHeader {
                header: "X-Merchant-ID",
                message: "The X-Merchant-ID header must be a UUID.",
            })?
            .hyphenated()
            .to_string();
        let version = header(req, "X-Version")?
            .filter(|v| !v.is_empty())
            .ok_or(ApiError::BadHeader { header: "X-Version", message: "The X-Version header is required." })?;
        if version.len() > MAX_VERSION_LEN
            || !version.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(ApiError::BadHeader {
                header: "X-Version",
                message: "The X-Version header must look like 1.2.",
            });
        }
        let fingerprint = header(req, "X-Fingerprint")?.filter(|v| !v.is_empty());
        if fingerprint.is_some_and(|f| f.len() > MAX_FINGERPRINT_LEN) {
            return Err(ApiError::BadHeader {
                header: "X-Fingerprint",
                message: "The X-Fingerprint header is too long.",
            });
        }
        Ok(PartnerHeaders { merchant_id, version: version.to_owned(), fingerprint: fingerprint.map(str::to_owned) })
    }
}

/// A query-string parameter, if present: from the API Gateway event, or else from the URI.
/// The `{id}` of the path: API Gateway's path parameter, or the last segment where a local router
/// sends none.
pub fn path_id(req: &Request) -> Option<String> {
    let parameter = req.path_parameters_ref().and_then(|p| p.first("id")).map(str::to_owned);
    parameter.or_else(|| req.uri().path().rsplit('/').next().map(str::to_owned)).filter(|id| !id.is_empty())
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    if let Some(value) = req.query_string_parameters_ref().and_then(|q| q.first(name)) {
        return Some(value.to_owned());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.uri().query()?).ok()?;
    pairs.into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(req: &Request) -> bool {
    req.headers()
        .get(lambda_http::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

pub fn require_method(req: &Request, method: Method) -> Result<(), ApiError> {
    if req.method() == method {
        Ok(())
    } else {
        let allow = match method {
            Method::GET => "GET",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            _ => "POST",
        };
        Err(ApiError::MethodNotAllowed { allow })
    }
}

pub(crate) fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    Ok(bytes)
}

/// A JSON or `application/x-www-form-urlencoded` body (OAuth endpoints accept both, RFC 6749 4.3.2).
pub fn json_or_form_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let is_form = req
        .headers()
        .get(lambda_http::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return json_body(req);
    }
    let bytes = body_bytes(req)?;
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        let message = e.to_string();
        match message.strip_prefix("missing field `") {
            Some(rest) => {
                let field = rest.split('`').next().unwrap_or_default().to_owned();
                ApiError::MalformedBody { detail: format!("the field `{field}` is required."), field: Some(field) }
            }
            None => ApiError::MalformedBody { field: None, detail: "the form fields are not valid.".to_owned() },
        }
    })
}

/// The body as JSON of type `T`. The error names the field at fault but never echoes a value.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedBody { field: None, detail: "the body must be a JSON object.".into() });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| describe(&e))?;
    de.end()
        .map_err(|_| ApiError::MalformedBody { field: None, detail: "there is text after the JSON object.".into() })?;
    Ok(value)
}

fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = err.inner();
    let message = inner.to_string();
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default().to_owned();
        let detail = format!("the field `{field}` is required.");
        return ApiError::MalformedBody { field: Some(field), detail };
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default().to_owned();
        let detail = format!("the field `{field}` cannot be written.");
        return ApiError::MalformedBody { field: Some(field), detail };
    }
    let path = err.path().to_string();
    let field = (path != ".").then_some(path);
    let detail = match (inner.classify(), &field) {
        (serde_json::error::Category::Data, Some(f)) => {
            format!("the field `{f}` has the wrong type.")
        }
        (serde_json::error::Category::Data, None) => "the body must be a JSON object.".into(),
        (serde_json::error::Category::Eof, _) => "the JSON ends too early.".into(),
        _ => "it is not valid JSON.".into(),
    };
    ApiError::MalformedBody { field, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        phone: String,
    }

    fn request(body: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn body_errors_name_the_field_without_echoing_values() {
        let err = json_body::<Sample>(&request(r#"{"phone": 123456789}"#, &[])).unwrap_err();
        let envelope = err.envelope();
        assert_eq!(envelope["field"], "phone");
        assert!(!envelope.to_string().contains("123456789"));
        assert_eq!(json_body::<Sample>(&request("{}", &[])).unwrap_err().envelope()["field"], "phone");
        assert!(matches!(json_body::<Sample>(&request("{", &[])), Err(ApiError::MalformedBody { .. })));
        assert!(matches!(json_body::<Sample>(&request("[]", &[])), Err(ApiError::MalformedBody { .. })));
        assert!(matches!(json_body::<Sample>(&request("", &[])), Err(ApiError::MalformedBody { .. })));
    }

    #[test]
    fn oversized_body_is_refused() {
        let body = format!(r#"{{"phone":"{}"}}"#, "1".repeat(MAX_BODY_BYTES));
        assert!(matches!(json_body::<Sample>(&request(&body, &[])), Err(ApiError::PayloadTooLarge { .. })));
    }

    #[test]
    fn partner_headers_are_required_and_validated() {
        let ok = request("", &[("X-Merchant-ID", "BECE038F-2E46-49F4-B25E-89CD38D6DC16"), ("X-Version", "1.2")]);
        let headers = PartnerHeaders::from_request(&ok).unwrap();
        assert_eq!(headers.merchant_id, "bece038f-2e46-49f4-b25e-89cd38d6dc16");
        for bad in [
            vec![("X-Version", "1.2")],
            vec![("X-Merchant-ID", "not-a-uuid"), ("X-Version", "1.2")],
            vec![("X-Merchant-ID", "bece038f-2e46-49f4-b25e-89cd38d6dc16")],
            vec![("X-Merchant-ID", "bece038f-2e46-49f4-b25e-89cd38d6dc16"), ("X-Version", "1.2; drop")],
        ] {
            assert!(matches!(PartnerHeaders::from_request(&request("", &bad)), Err(ApiError::BadHeader { .. })));
        }
    }
}
