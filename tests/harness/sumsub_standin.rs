//! A local stand-in for Sumsub's API (Sumsub cannot be reached from here), for the one call this
//! service makes: `POST /resources/accessTokens/sdk`. It checks every request as Sumsub documents
//! (the app token, a timestamp within a minute, and `X-App-Access-Sig`, recomputed here on its own
//! from the raw request), answers as Sumsub's reference shows (`{"token":"_act-...","userId"}`, or
//! a 401 with `errorName` on a bad signature), and records what it saw. It can be told to answer
//! 500 or to hang, for the 503 paths.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::hmac;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub app_token: Option<String>,
    pub body: Value,
    /// The signature was the documented HMAC under the expected secret, and the timestamp fresh.
    pub signature_valid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Answer,
    Fail500,
    Hang,
}

pub struct SumsubStandIn {
    pub base_url: String,
    pub app_token: String,
    app_secret: String,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

impl SumsubStandIn {
    /// Starts the stand-in on a free port of 127.0.0.1, for one app token and secret.
    pub async fn start(app_token: &str, app_secret: &str) -> SumsubStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let standin = SumsubStandIn {
            base_url,
            app_token: app_token.to_owned(),
            app_secret: app_secret.to_owned(),
            seen: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour::Answer)),
        };
        let (seen, behaviour) = (standin.seen.clone(), standin.behaviour.clone());
        let (token, secret) = (standin.app_token.clone(), standin.app_secret.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (seen, behaviour, token, secret) = (seen.clone(), behaviour.clone(), token.clone(), secret.clone());
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut stream).await else { return };
                    let (status, answer) = answer(&head, &body, &token, &secret, &seen);
                    let mode = *behaviour.lock().expect("behaviour");
                    let (status, answer) = match mode {
                        Behaviour::Answer => (status, answer),
                        Behaviour::Fail500 => (500, json!({ "description": "Internal error", "code": 500 })),
                        Behaviour::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                    };
                    let text = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        standin
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("seen").clone()
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour") = behaviour;
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    }
    let split = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let length: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = data[split..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// What Sumsub answers: its checks, in its order, then the token.
fn answer(head: &str, body: &[u8], token: &str, secret: &str, seen: &Mutex<Vec<SeenRequest>>) -> (u16, Value) {
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) =
        (request_line.next().unwrap_or_default().to_owned(), request_line.next().unwrap_or_default().to_owned());
    let app_token = header(head, "x-app-token");
    let ts = header(head, "x-app-access-ts").unwrap_or_default();
    let fresh = ts.parse::<i64>().is_ok_and(|t| (now() - t).abs() <= 60);
    // The documented concatenation, computed here without the service's code.
    let mut message = Vec::new();
    message.extend_from_slice(ts.as_bytes());
    message.extend_from_slice(method.as_bytes());
    message.extend_from_slice(path.as_bytes());
    message.extend_from_slice(body);
    let expected: String = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), &message)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signature_valid = fresh && header(head, "x-app-access-sig").as_deref() == Some(expected.as_str());
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    seen.lock().expect("seen").push(SeenRequest {
        method: method.clone(),
        path: path.clone(),
        app_token: app_token.clone(),
        body: parsed.clone(),
        signature_valid,
    });
    if app_token.as_deref() != Some(token) {
        return (
            401,
            json!({ "description": "App token is invalid", "code": 401, "errorCode": 4000, "errorName": "app-token-invalid-format" }),
        );
    }
    if !signature_valid {
        return (
            401,
            json!({ "description": "Request signature mismatch", "code": 401, "errorCode": 4003, "errorName": "app-token-signature-mismatch" }),
        );
    }
    if method != "POST" || path != "/resources/accessTokens/sdk" {
        return (404, json!({ "description": "Not found", "code": 404 }));
    }
    match (parsed["userId"].as_str(), parsed["levelName"].as_str()) {
        (Some(user), Some(_)) => {
            (200, json!({ "token": format!("_act-sbx-{}", uuid::Uuid::new_v4()), "userId": user }))
        }
        _ => (400, json!({ "description": "userId and levelName are required", "code": 400 })),
    }
}
