//! A minimal HTTP/1.1 server on 127.0.0.1 that serves the pages a browser sees (the email link's
//! page and the account deletion page), so a real browser can open them and their forms be sent. GET and POST
//! (a form body of at most 64 KiB), one request per connection.

use std::sync::Arc;

use lambda_http::{Body, RequestExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::TestEnv;

/// Binds a free port and returns its base URL; serve with [`serve`].
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    (listener, url)
}

/// Answers requests with `env`'s page handlers until the test ends.
pub fn serve(listener: TcpListener, env: Arc<TestEnv>) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let env = env.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let split = head.windows(4).position(|w| w == b"\r\n\r\n").map_or(head.len(), |at| at + 4);
                let text = String::from_utf8_lossy(&head[..split]).into_owned();
                let header = |name: &str| {
                    text.lines().find_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
                    })
                };
                let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0).min(64 * 1024);
                let mut body = head[split..].to_vec();
                while body.len() < length {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&buf[..n]),
                    }
                }
                let mut request_line = text.lines().next().unwrap_or_default().split_whitespace();
                let (method, target) = (request_line.next().unwrap_or("GET"), request_line.next().unwrap_or("/"));
                let page = target.starts_with("/v2/mobile/email/confirm") || target.starts_with("/v2/account/delete");
                let (status, content_type, body) = if page {
                    let query: Vec<(String, String)> =
                        serde_urlencoded::from_str(target.split_once('?').map_or("", |(_, q)| q)).unwrap_or_default();
                    let content_type = header("content-type").unwrap_or_default();
                    let req = lambda_http::http::Request::builder()
                        .method(method)
                        .uri(target)
                        .header("accept", "text/html")
                        .header("content-type", content_type)
                        .body(Body::Text(String::from_utf8_lossy(&body).into_owned()))
                        .expect("request")
                        .with_query_string_parameters(query.into_iter().collect::<std::collections::HashMap<_, _>>());
                    let response = if target.starts_with("/v2/account/delete") {
                        registration::handlers::deletion_page::handle(&env.app, &env.mailer, req).await
                    } else {
                        registration::handlers::email_confirm::handle(&env.app, &env.mailer, req).await
                    }
                    .expect("infallible");
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("text/plain")
                        .to_owned();
                    (response.status().as_u16(), content_type, response.body().as_ref().to_vec())
                } else {
                    (404, "text/plain".to_owned(), b"not found".to_vec())
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
}
