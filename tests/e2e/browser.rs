//! The confirmation link from a captured email, opened in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use e2e::{Endpoint, TestEnv, fresh_phone, link_server};
use serde_json::json;

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

fn headless(args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .args(args)
        .output()
        .expect("run chromium (make test installs Debian's chromium)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_the_email_confirms_the_address_in_a_real_browser() {
    // GIVEN a service whose links point at a local server, and a user who added an email address
    let (listener, base_url) = link_server::bind().await;
    let env = Arc::new(TestEnv::with_public_base_url(&base_url).await);
    link_server::serve(listener, env.clone());
    let tokens = env.registered(&fresh_phone(), "Browser-pass-3").await;
    let auth = format!("Bearer {}", tokens.body["access_token"].as_str().unwrap());
    let address = format!("browser.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": address })).await.status, 200);
    let link = env.latest_link(&address).await;
    assert!(link.starts_with(&base_url), "{link}");

    // WHEN Chromium opens the link from the email and takes a screenshot
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let screenshot = out_dir.join("email-confirmed.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = format!("--screenshot={}", screenshot.display());
    let link_for_browser = link.clone();
    let ran = tokio::task::spawn_blocking(move || headless(&[&shot, "--window-size=800,600", &link_for_browser]))
        .await
        .unwrap();
    assert!(ran.status.success(), "chromium failed: {}", String::from_utf8_lossy(&ran.stderr));

    // THEN the screenshot exists, the page the browser rendered says so, and the account has the email
    assert!(is_png(&screenshot), "no screenshot at {}", screenshot.display());
    let dom = tokio::task::spawn_blocking(move || headless(&["--dump-dom", &link])).await.unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(dom.contains("Your email is confirmed"), "{dom}");
    let profile = env.as_user(Endpoint::ProfileGet, &auth, serde_json::Value::Null).await;
    assert_eq!((profile.body["email"].clone(), profile.body["emailVerified"].clone()), (json!(address), json!(true)));
    println!("screenshot: {}", screenshot.display());
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"))
}
