//! The account deletion web page (Google Play's deletion link): a phone, an SMS code, and the
//! account is gone; a number without an account gets the same pages.

use e2e::{Answer, Endpoint, MERCHANT, TestEnv, fresh_phone, other_code};
use lambda_http::Body;
use registration::ports::DeletionChannel;
use serde_json::Value;

const PASSWORD: &str = "Thistle-Gecko-48";

async fn submit(env: &TestEnv, form: &str) -> Answer {
    env.call_raw(Endpoint::DeletionPagePost, Body::Text(form.to_owned()), &[]).await
}

pub(crate) async fn ask_code(env: &TestEnv, phone: &str) -> Answer {
    submit(env, &format!("phone={}", e2e::form_encode(phone))).await
}

pub(crate) async fn enter_code(env: &TestEnv, phone: &str, code: &str) -> Answer {
    submit(env, &format!("phone={}&code={code}", e2e::form_encode(phone))).await
}

/// The page as a person reads it, with the number they typed taken out.
fn seen(answer: &Answer, phone: &str) -> (u16, String) {
    (answer.status, answer.text.replace(phone, "<the number>"))
}

#[tokio::test]
async fn the_page_asks_for_the_phone_with_a_plain_form_and_names_no_unknown_partner() {
    let env = TestEnv::new().await;
    let page = env.call(Endpoint::DeletionPage, Value::Null, &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert!(page.text.contains("Delete your account") && page.text.contains("name=\"phone\""), "{}", page.text);
    assert!(!page.text.contains("<script"));
    // Another partner's id in the link, or none
    let mut req = Endpoint::DeletionPage.event();
    use lambda_http::RequestExt;
    req = req.with_query_string_parameters(std::collections::HashMap::from([(
        "partner".to_owned(),
        "00000000-0000-4000-8000-000000000000".to_owned(),
    )]));
    let unknown = registration::handlers::deletion_page::handle(&env.app, &env.mailer, req).await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_number_without_an_account_gets_the_same_pages_and_only_the_account_gets_a_code() {
    // GIVEN a number with an account and one without
    let env = TestEnv::new().await;
    let (known, unknown) = (fresh_phone(), fresh_phone());
    env.registered(&known, PASSWORD).await;
    env.wait_out_cooldown();

    // WHEN each asks for a code on the page
    let (for_known, for_unknown) = (ask_code(&env, &known).await, ask_code(&env, &unknown).await);

    // THEN the pages are the same but for the number, and only the account's number got an SMS
    assert_eq!(seen(&for_known, &known), seen(&for_unknown, &unknown));
    assert_eq!(for_known.status, 200);
    assert!(for_known.text.contains("name=\"code\""), "{}", for_known.text);
    let code = env.latest_code(&known).await;
    assert!(env.sms_to(&known).await.last().unwrap().contains("to delete your account"));
    assert!(env.sms_to(&unknown).await.is_empty());
    // AND wrong codes answer alike, tries counting down, then the code is dead for both
    for _ in 0..5 {
        let (a, b) =
            (enter_code(&env, &known, &other_code(&code)).await, enter_code(&env, &unknown, &other_code(&code)).await);
        assert_eq!(seen(&a, &known), seen(&b, &unknown));
        assert_eq!(a.status, 400);
    }
    let (a, b) = (enter_code(&env, &known, &code).await, enter_code(&env, &unknown, &code).await);
    assert_eq!(seen(&a, &known), seen(&b, &unknown));
    assert!(a.text.contains("This code no longer works"), "{}", a.text);
    // AND the account is still there
    assert_eq!(env.sign_in(&known, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_right_code_deletes_the_account_as_the_app_would() {
    // GIVEN an account, and the code the page sent to its number
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    ask_code(&env, &phone).await;
    let code = env.latest_code(&phone).await;

    // WHEN the code is entered
    let done = enter_code(&env, &phone, &code).await;

    // THEN the page says so, and the account is gone: tokens, sign-in, and a record for the web
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Your account was deleted"), "{}", done.text);
    assert!(env.authenticate(&e2e::bearer(&tokens)).await.is_err());
    assert_eq!(env.sign_in(&phone, PASSWORD).await.body["error"], "invalid_grant");
    let records = env.app.deletions.deletion_records(MERCHANT).await.unwrap();
    assert_eq!(records.iter().map(|r| r.channel).collect::<Vec<_>>(), [DeletionChannel::Web]);
    // AND the same code again only says it no longer works
    assert!(enter_code(&env, &phone, &code).await.text.contains("This code no longer works"));
}

#[tokio::test]
async fn malformed_numbers_barred_countries_and_asking_too_often_are_4xx_pages() {
    let env = TestEnv::new().await;
    let malformed = ask_code(&env, "0787").await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.text.contains("name=\"phone\""), "{}", malformed.text);
    assert_eq!(ask_code(&env, "+4915112345678").await.status, 400);
    assert_eq!(submit(&env, "nothing=here").await.status, 400);
    let phone = fresh_phone();
    assert_eq!(ask_code(&env, &phone).await.status, 200);
    let again = ask_code(&env, &phone).await;
    assert_eq!(again.status, 429);
    assert!(again.text.contains("Please wait") && again.text.contains("Try again in a minute"), "{}", again.text);
    assert!(enter_code(&env, &phone, "12").await.text.contains("6 digits"));
}

#[tokio::test]
async fn a_deletion_on_the_page_is_told_to_the_confirmed_address() {
    // GIVEN an account with a confirmed address, and the page's code for its number
    let env = TestEnv::new().await;
    let (phone, email) = (fresh_phone(), e2e::fresh_email());
    let tokens = env.registered(&phone, PASSWORD).await;
    let added = env.as_user(Endpoint::EmailAdd, &e2e::bearer(&tokens), serde_json::json!({ "email": email })).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(env.press_link_button(&env.latest_link(&email.to_lowercase()).await).await.status, 200);
    env.wait_out_cooldown();
    ask_code(&env, &phone).await;
    let code = env.latest_code(&phone).await;

    // WHEN the code is entered on the page
    assert_eq!(enter_code(&env, &phone, &code).await.status, 200);

    // THEN the owner's address hears of it, whoever held the phone
    let emails = env.emails_to(&email.to_lowercase()).await;
    assert_eq!(emails.last().map(|(subject, _)| subject.as_str()), Some("Your account was deleted"));
}

/// Code items under `phone` (`CODE#…` in its partition).
async fn codes_under(env: &TestEnv, phone: &str) -> usize {
    let text = |item: &e2e::Item, name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    env.items()
        .await
        .iter()
        .filter(|item| text(item, "pk").ends_with(&format!("#{phone}")) && text(item, "sk").starts_with("CODE#"))
        .count()
}

#[tokio::test]
async fn a_post_from_another_site_sends_nothing_and_gets_a_page_that_says_to_use_this_one() {
    // GIVEN an account, its number out of the code cooldown
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    env.wait_out_cooldown();
    let sms_before = env.sms_to(&phone).await.len();
    let form = format!("phone={}", e2e::form_encode(&phone));
    let own = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com";

    for (case, headers) in [
        ("another site's origin", vec![("origin", Some("https://evil.example"))]),
        ("a cross-site fetch", vec![("sec-fetch-site", Some("cross-site")), ("origin", Some(own))]),
        ("a sibling subdomain", vec![("sec-fetch-site", Some("same-site")), ("origin", None)]),
        ("an opaque origin (a sandboxed frame)", vec![("origin", Some("null"))]),
        (
            "the page's host over plain HTTP",
            vec![("origin", Some("http://abcdef1234.execute-api.eu-west-1.amazonaws.com"))],
        ),
        (
            "both, as the review sent them",
            vec![("origin", Some("https://evil.example")), ("sec-fetch-site", Some("cross-site"))],
        ),
    ] {
        // WHEN a page on another site makes a browser post the phone form, or the code form
        for body in [form.clone(), format!("{form}&code=123456")] {
            let answer = env.call_raw(Endpoint::DeletionPagePost, Body::Text(body), &headers).await;

            // THEN a 403 page that says to send the form from the deletion page itself, and shows it
            assert_eq!(answer.status, 403, "{case}: {}", answer.text);
            assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8", "{case}");
            assert!(answer.text.contains("came from another website"), "{case}: {}", answer.text);
            assert!(answer.text.contains("name=\"phone\"") && !answer.text.contains("name=\"code\""), "{case}");
            assert!(!answer.text.contains(&phone), "{case}: the page repeats nothing it was sent");
        }
    }
    // AND no SMS went to the number, no code was stored for it, and the account is whole
    assert_eq!(env.sms_to(&phone).await.len(), sms_before);
    assert_eq!(codes_under(&env, &phone).await, 0);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200);

    // WHEN the person sends the form from the page itself, as a browser does
    let same_origin = [("origin", Some(own)), ("sec-fetch-site", Some("same-origin"))];
    let answer = env.call_raw(Endpoint::DeletionPagePost, Body::Text(form.clone()), &same_origin).await;

    // THEN the code is sent as before, and the page lets the browser send its real origin next time
    // (under `no-referrer`, Chromium sends `Origin: null` with a page's own forms)
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(env.sms_to(&phone).await.len(), sms_before + 1);
    assert_eq!(answer.headers["referrer-policy"], "same-origin");

    // WHEN a browser told to send no referrer sends the page's own form: `Origin: null`, but
    // `Sec-Fetch-Site: same-origin`
    env.wait_out_cooldown();
    let no_referrer = [("origin", Some("null")), ("sec-fetch-site", Some("same-origin"))];
    let answer = env.call_raw(Endpoint::DeletionPagePost, Body::Text(form), &no_referrer).await;

    // THEN it is served too
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(env.sms_to(&phone).await.len(), sms_before + 2);
}

#[tokio::test]
async fn an_account_with_an_authenticator_is_not_deleted_by_a_code_to_its_phone_alone() {
    // GIVEN an account with an authenticator app, and the code the page sent to its number (what
    // a SIM swap gives)
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let user_id = tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned();
    env.enrol_factors(&user_id, &phone).await;
    env.wait_out_cooldown();
    ask_code(&env, &phone).await;
    let code = env.latest_code(&phone).await;
    // WHEN the code is entered
    let refused = enter_code(&env, &phone, &code).await;
    // THEN the page sends the person to the app or the partner's support, and nothing is deleted
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Delete this account in the app"), "{}", refused.text);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.body["error"], "mfa_required");
    assert!(env.app.deletions.deletion_records(MERCHANT).await.unwrap().iter().all(|r| r.user_id != user_id));
}
