//! Do the answer or the time of signup, resend, forgot-password (by phone or email), the account
//! deletion page or sign-in tell whether a phone or an address has an account, or does the request
//! after them (a wrong code to confirm, reset, delete or finish an email signup)? Runs the real
//! handlers against moto, alternating a known and an unknown identifier, checks the two answers are
//! identical, and prints the medians and their difference. Target: under 10 ms.
//!
//! `SAMPLES=200 make bench-enumeration` for more samples (default 60).

use std::time::{Duration, Instant};

use e2e::{Endpoint, TestEnv, extract_code, form_encode, fresh_phone};
use lambda_http::Body;
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

type Timings = (Vec<Duration>, Vec<Duration>);

/// A six-digit code that is certainly not `code`.
fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000)
}

async fn email_signup(env: &TestEnv, email: &str, code: Option<&str>) -> e2e::Answer {
    let mut body = json!({ "email": email, "password": "Known-account-7" });
    if let Some(code) = code {
        body["emailConfirmCode"] = json!(code);
    }
    env.call(Endpoint::SignupEmail, body, &[]).await
}

async fn emailed_code(env: &TestEnv, email: &str) -> String {
    let (subject, _) = env.emails_to(email).await.pop().expect("an email");
    extract_code(&subject).expect("a code in the subject")
}

/// `pairs` with, for each, a wrong code (certainly not the real one of either) after a space.
async fn with_wrong_codes(
    env: &TestEnv,
    pairs: &[(String, String)],
    real_code_to: impl Fn(&(String, String)) -> String,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let wrong = other_code(&env.latest_code(&real_code_to(pair)).await);
        out.push((format!("{} {wrong}", pair.0), format!("{} {wrong}", pair.1)));
    }
    out
}

fn split(who_and_code: &str) -> (String, String) {
    let (who, code) = who_and_code.split_once(' ').expect("identifier and code");
    (who.to_owned(), code.to_owned())
}

/// Times `call` for each (known, unknown) pair, alternating, and checks both answered `expect`.
async fn measure<F, Fut>(pairs: &[(String, String)], expect: u16, call: F) -> Timings
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = e2e::Answer>,
{
    let mut times = (Vec::with_capacity(pairs.len()), Vec::with_capacity(pairs.len()));
    for (known, unknown) in pairs {
        let start = Instant::now();
        let answer = call(known.clone()).await;
        times.0.push(start.elapsed());
        assert_eq!(answer.status, expect, "{:?}", answer.body);
        let start = Instant::now();
        let other = call(unknown.clone()).await;
        times.1.push(start.elapsed());
        assert_eq!((other.status, &other.body), (answer.status, &answer.body), "known and unknown answer alike");
    }
    times
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::var("SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut env = TestEnv::new().await;
    // Every call still takes its per-IP count (the same write for known and unknown numbers); the
    // limits are only raised so that this one client can make hundreds of calls.
    env.app.rate_limits.send = u64::MAX;
    env.app.rate_limits.verify = u64::MAX;
    // As deployed: the partner is read once and cached (the harness turns caching off for its tests).
    env.app.partners.ttl = registration::admission::directory::DEFAULT_CACHE_TTL;
    let env = &env;
    let mut known_phones = Vec::with_capacity(samples);
    for _ in 0..samples {
        let phone = fresh_phone();
        env.registered(&phone, "Known-account-7").await;
        known_phones.push(phone);
    }
    let pairs: Vec<(String, String)> = known_phones.iter().map(|p| (p.clone(), fresh_phone())).collect();
    // Warm up connections and the allocator on both paths.
    for _ in 0..3 {
        env.sign_in(&fresh_phone(), "Wrong-password-1").await;
    }
    env.wait_out_cooldown();

    // Each phase sends each phone at most one SMS, and the clock moves past the cooldown between
    // phases, so neither the back-off nor the per-number limits start.
    let signin = measure(&pairs, 400, |phone| async move { env.sign_in(&phone, "Wrong-password-1").await }).await;
    let forgot = measure(&pairs, 200, |phone| async move { env.forgot(&phone).await }).await;
    // The request after forgot: a wrong reset code, for a real code (known) and a decoy (unknown).
    let guesses = with_wrong_codes(env, &pairs, |(known, _)| known.clone()).await;
    let reset = measure(&guesses, 400, |guess| async move {
        let (phone, code) = split(&guess);
        env.reset(&phone, &code, "Another-pass-9").await
    })
    .await;
    env.wait_out_cooldown();
    let body = |phone: String| serde_json::json!({ "phone": phone, "password": "Another-pass-9" });
    let signup = measure(&pairs, 200, |phone| async move { env.signup(body(phone)).await }).await;
    // The request after signup: a wrong code, for a decoy (known) and a real code (unknown).
    let guesses = with_wrong_codes(env, &pairs, |(_, unknown)| unknown.clone()).await;
    let confirm = measure(&guesses, 400, |guess| async move {
        let (phone, code) = split(&guess);
        env.confirm(&phone, &code).await
    })
    .await;
    env.wait_out_cooldown();
    // For resend, "known" is a phone with a pending signup: the unknown phones of the signup phase.
    let pending: Vec<(String, String)> = pairs.iter().map(|(_, pending)| (pending.clone(), fresh_phone())).collect();
    let resend = measure(&pending, 200, |phone| async move { env.resend(&phone).await }).await;

    // Email-first signup: the code request for an address with an account and a new one, then a
    // wrong code for each (a decoy and a real code).
    let email = |name: &str| format!("{name}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut addresses = Vec::with_capacity(samples);
    for _ in 0..samples {
        let taken = email("taken");
        email_signup(env, &taken, None).await;
        let code = emailed_code(env, &taken).await;
        assert_eq!(email_signup(env, &taken, Some(&code)).await.status, 200);
        addresses.push((taken, email("new")));
    }
    env.wait_out_cooldown();
    let email_code = measure(&addresses, 200, |address| async move { email_signup(env, &address, None).await }).await;
    let mut guesses = Vec::with_capacity(samples);
    for (taken, new) in &addresses {
        let wrong = other_code(&emailed_code(env, new).await);
        guesses.push((format!("{taken} {wrong}"), format!("{new} {wrong}")));
    }
    let email_guess = measure(&guesses, 400, |guess| async move {
        let (address, code) = split(&guess);
        email_signup(env, &address, Some(&code)).await
    })
    .await;

    // Forgot by email: an address with an account and one nobody has, then a wrong reset code for
    // each (a real code and a decoy).
    env.wait_out_cooldown();
    let owners: Vec<(String, String)> = addresses.iter().map(|(taken, _)| (taken.clone(), email("nobody"))).collect();
    let forgot_email = measure(&owners, 200, |address| async move {
        env.call(Endpoint::PasswordForgot, json!({ "email": address }), &[]).await
    })
    .await;
    let mut guesses = Vec::with_capacity(samples);
    for (taken, nobody) in &owners {
        let wrong = other_code(&emailed_code(env, taken).await);
        guesses.push((format!("{taken} {wrong}"), format!("{nobody} {wrong}")));
    }
    let reset_email = measure(&guesses, 400, |guess| async move {
        let (address, code) = split(&guess);
        let body = json!({ "email": address, "code": code, "password": "Another-pass-9" });
        env.call(Endpoint::PasswordReset, body, &[]).await
    })
    .await;

    // The account deletion page: a code for a phone with an account and one without, then a wrong
    // code for each (a real code and a decoy). Its pages name the number typed; status and the
    // time are compared here, the page text in tests/e2e/deletion_page.rs.
    env.wait_out_cooldown();
    let page = |form: String| async move { env.call_raw(Endpoint::DeletionPagePost, Body::Text(form), &[]).await };
    let deletion_code = measure(&pairs, 200, |phone| page(format!("phone={}", form_encode(&phone)))).await;
    let guesses = with_wrong_codes(env, &pairs, |(known, _)| known.clone()).await;
    let deletion_guess = measure(&guesses, 400, |guess| {
        let (phone, code) = split(&guess);
        page(format!("phone={}&code={code}", form_encode(&phone)))
    })
    .await;

    println!("timing over {samples} calls each (real handlers, moto, this build's profile)");
    println!("{:<72} {:>9} {:>9} {:>9}", "case", "p10 ms", "p50 ms", "p90 ms");
    for (endpoint, (mut known, mut unknown), known_case) in [
        ("signup", signup, "phone with an account (notice sent)"),
        ("resend", resend, "pending signup (code sent)"),
        ("forgot", forgot, "phone with an account (SMS sent)"),
        ("sign-in", signin, "phone with an account, wrong password"),
        ("confirm after signup", confirm, "phone with an account (decoy), wrong code"),
        ("reset after forgot", reset, "phone with an account (real code), wrong code"),
        ("email signup", email_code, "address with an account (notice sent)"),
        ("email code after it", email_guess, "address with an account (decoy), wrong code"),
        ("forgot by email", forgot_email, "address with an account (email sent)"),
        ("reset after it", reset_email, "address with an account (real code), wrong code"),
        ("deletion page", deletion_code, "phone with an account (SMS sent)"),
        ("deletion code after it", deletion_guess, "phone with an account (real code), wrong code"),
    ] {
        known.sort();
        unknown.sort();
        for (name, times) in [(known_case, &known), ("unknown identifier", &unknown)] {
            println!(
                "{:<72} {:>9.2} {:>9.2} {:>9.2}",
                format!("{endpoint}: {name}"),
                ms(percentile(times, 0.1)),
                ms(percentile(times, 0.5)),
                ms(percentile(times, 0.9))
            );
        }
        let difference = ms(percentile(&known, 0.5)) - ms(percentile(&unknown, 0.5));
        let verdict = if difference.abs() < 10.0 { "under" } else { "OVER" };
        println!("{endpoint}: median difference (known - unknown): {difference:+.2} ms ({verdict} the 10 ms target)");
    }
}
