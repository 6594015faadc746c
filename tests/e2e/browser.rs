//! The pages a person opens in a browser, in headless Chromium: the confirmation link from a
//! captured email, and the account deletion page.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use e2e::{Endpoint, MERCHANT, TestEnv, fresh_phone, link_server};
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
async fn the_link_in_the_email_shows_a_button_in_a_real_browser_and_only_the_button_confirms() {
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
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out_dir).unwrap();

    // WHEN Chromium opens the link from the email (as a person, or a mail scanner, would)
    let button = screenshot(&out_dir.join("email-confirm-button.png"), &link).await;
    let dom = dump_dom(&link).await;

    // THEN it shows one button, no script, and nothing is confirmed yet
    assert!(dom.contains("Confirm my email address"), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");
    let profile = env.as_user(Endpoint::ProfileGet, &auth, serde_json::Value::Null).await;
    assert_eq!(profile.body["emailVerified"], false);

    // WHEN the button is pressed: the form Chromium rendered is sent as a browser sends it (its
    // action is the page's own address; headless Chromium cannot click without a script)
    let token = hidden_token(&dom);
    let pressed = reqwest::Client::new()
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", e2e::form_encode(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), 200);
    assert!(pressed.text().await.unwrap().contains("Your email is confirmed"));

    // THEN the account has the email, and opening the link again says so in the browser
    let profile = env.as_user(Endpoint::ProfileGet, &auth, serde_json::Value::Null).await;
    assert_eq!((profile.body["email"].clone(), profile.body["emailVerified"].clone()), (json!(address), json!(true)));
    let confirmed = screenshot(&out_dir.join("email-confirmed.png"), &link).await;
    assert!(dump_dom(&link).await.contains("Your email is confirmed"));
    println!("screenshots: {} {}", button.display(), confirmed.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_deletion_page_works_in_a_real_browser_without_a_script() {
    // GIVEN a service whose pages a local server serves, and an account
    let (listener, base_url) = link_server::bind().await;
    let env = Arc::new(TestEnv::with_public_base_url(&base_url).await);
    link_server::serve(listener, env.clone());
    let phone = fresh_phone();
    env.registered(&phone, "Browser-pass-3").await;
    env.wait_out_cooldown();
    let page = format!("{base_url}/v2/account/delete?partner={MERCHANT}");
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out_dir).unwrap();

    // WHEN Chromium opens the page a partner links from its store listing
    let asking = screenshot(&out_dir.join("account-delete-phone.png"), &page).await;
    let dom = dump_dom(&page).await;

    // THEN it shows a phone form and no script
    assert!(dom.contains("Delete your account") && dom.contains("name=\"phone\""), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");

    // WHEN its form is sent as a browser sends it (to the page's own address), then the code form
    let code_page = post_form(&page, &format!("phone={}", e2e::form_encode(&phone))).await;
    let coding = render(&out_dir, "account-delete-code", &code_page).await;
    assert!(dump_dom(&file_url(&out_dir, "account-delete-code")).await.contains("name=\"code\""));
    let code = env.latest_code(&phone).await;
    let done_page = post_form(&page, &format!("phone={}&code={code}", e2e::form_encode(&phone))).await;
    let done = render(&out_dir, "account-delete-done", &done_page).await;

    // THEN the account is deleted, and the page says so
    assert!(done_page.contains("Your account was deleted"), "{done_page}");
    assert_eq!(env.sign_in(&phone, "Browser-pass-3").await.body["error"], "invalid_grant");
    println!("screenshots: {} {} {}", asking.display(), coding.display(), done.display());
}

/// Sends a form to `url` as a browser submits one, and returns the page it answers.
async fn post_form(url: &str, form: &str) -> String {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

fn file_url(dir: &Path, name: &str) -> String {
    format!("file://{}", dir.join(format!("{name}.html")).display())
}

/// A page a POST answered, saved and shown by Chromium (a screenshot can only open an address).
async fn render(dir: &Path, name: &str, html: &str) -> PathBuf {
    std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
    screenshot(&dir.join(format!("{name}.png")), &file_url(dir, name)).await
}

async fn screenshot(path: &Path, link: &str) -> PathBuf {
    let _ = std::fs::remove_file(path);
    let shot = format!("--screenshot={}", path.display());
    let link = link.to_owned();
    let ran = tokio::task::spawn_blocking(move || headless(&[&shot, "--window-size=800,600", &link])).await.unwrap();
    assert!(ran.status.success(), "chromium failed: {}", String::from_utf8_lossy(&ran.stderr));
    assert!(is_png(path), "no screenshot at {}", path.display());
    path.to_owned()
}

async fn dump_dom(link: &str) -> String {
    let link = link.to_owned();
    let dom = tokio::task::spawn_blocking(move || headless(&["--dump-dom", &link])).await.unwrap();
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// The value of the form's hidden `token` field, as the browser parsed it.
fn hidden_token(dom: &str) -> String {
    let at = dom.find("name=\"token\"").expect("a token field");
    let value = &dom[at..];
    let start = value.find("value=\"").expect("a value") + "value=\"".len();
    value[start..start + value[start..].find('"').unwrap()].to_owned()
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"))
}
