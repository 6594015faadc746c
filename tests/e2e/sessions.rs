//! Sign-in, refresh-token rotation with reuse detection, revocation, JWKS and bearer authentication.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{Answer, Endpoint, MERCHANT, TestEnv, assert_error, bearer, fresh_phone};
use futures::future::join;
use registration::ApiError;
use registration::handlers::REFRESH_GRACE_SECS;
use serde_json::{Value, json};

const PASSWORD: &str = "Session-pass-42";

fn token_of(answer: &Answer, name: &str) -> String {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body[name].as_str().unwrap().to_owned()
}

fn assert_invalid_grant(answer: &Answer) {
    assert_error(answer, 400, "invalid_grant");
    assert_eq!(answer.body["errorId"], 2002);
}

#[tokio::test]
async fn sign_in_works_with_json_and_form_bodies_and_any_phone_spelling() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    let spaced = format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..]);

    for answer in [env.sign_in(&phone, PASSWORD).await, env.sign_in_form(&spaced, PASSWORD).await] {
        assert_eq!(answer.body["token_type"], "Bearer");
        assert_eq!(answer.headers["cache-control"], "no-store");
        let principal = env.authenticate(&bearer(&answer)).await.unwrap();
        assert_eq!(format!("usr:{}", principal.user_id), answer.body["user_id"]);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_phone_answer_alike() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;

    let wrong = env.sign_in(&phone, "Not-the-password-1").await;
    let unknown = env.sign_in(&fresh_phone(), "Not-the-password-1").await;

    assert_invalid_grant(&wrong);
    assert_eq!((wrong.status, &wrong.body, &wrong.headers), (unknown.status, &unknown.body, &unknown.headers));
}

#[tokio::test]
async fn a_pending_account_cannot_sign_in() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    assert_invalid_grant(&env.sign_in(&phone, PASSWORD).await);
}

#[tokio::test]
async fn repeated_failures_back_off_for_known_and_unknown_phones_alike_and_the_wait_ends() {
    let env = TestEnv::new().await;
    let known = fresh_phone();
    let unknown = fresh_phone();
    env.registered(&known, PASSWORD).await;

    for phone in [&known, &unknown] {
        for _ in 0..5 {
            assert_invalid_grant(&env.sign_in(phone, "Guess-guess-1").await);
        }
    }
    // The sixth try is held back, for both, even with the right password: the answer says for how long.
    let held_known = env.sign_in(&known, PASSWORD).await;
    let held_unknown = env.sign_in(&unknown, PASSWORD).await;
    for held in [&held_known, &held_unknown] {
        assert_eq!(held.status, 429, "{:?}", held.body);
        assert_eq!(held.body["data"]["retryAfter"], 30);
        assert_eq!(held.headers["retry-after"], "30");
    }
    // Never a permanent lock: once the wait is over, the owner signs in.
    env.clock.advance(30);
    assert_eq!(env.sign_in(&known, PASSWORD).await.status, 200);
    // And the streak is cleared by the success.
    assert_invalid_grant(&env.sign_in(&known, "Guess-guess-1").await);
}

#[tokio::test]
async fn refresh_rotates_the_token_and_the_new_one_works() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let first = token_of(&tokens, "refresh_token");

    let rotated = env.refresh(&first).await;
    let second = token_of(&rotated, "refresh_token");
    assert_ne!(first, second);
    assert_eq!(rotated.body["user_id"], tokens.body["user_id"]);
    env.authenticate(&bearer(&rotated)).await.unwrap();
    env.clock.advance(60);
    assert_eq!(env.refresh(&second).await.status, 200);
}

#[tokio::test]
async fn a_retry_inside_the_grace_is_not_a_logout() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let first = token_of(&tokens, "refresh_token");
    assert_eq!(env.refresh(&first).await.status, 200);
    // The client lost that response and retries with the same token.
    env.clock.advance(REFRESH_GRACE_SECS);
    let retried = env.refresh(&first).await;
    let newest = token_of(&retried, "refresh_token");
    env.clock.advance(60);
    assert_eq!(env.refresh(&newest).await.status, 200);
}

#[tokio::test]
async fn reuse_after_the_grace_revokes_the_whole_family_including_the_newest_token() {
    // GIVEN a session whose first refresh token was rotated twice
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let stolen = token_of(&tokens, "refresh_token");
    let second = token_of(&env.refresh(&stolen).await, "refresh_token");
    env.clock.advance(REFRESH_GRACE_SECS + 1);
    let newest = env.refresh(&second).await;
    let newest_refresh = token_of(&newest, "refresh_token");
    // AND an unrelated session of the same user
    let other = env.sign_in(&phone, PASSWORD).await;

    // WHEN the first token is used again after its grace
    assert_invalid_grant(&env.refresh(&stolen).await);

    // THEN every token of that family is dead: the newest refresh token and its access token
    assert_invalid_grant(&env.refresh(&newest_refresh).await);
    assert!(matches!(env.authenticate(&bearer(&newest)).await, Err(ApiError::Unauthorized(_))));
    // AND the other session lives on
    env.authenticate(&bearer(&other)).await.unwrap();
    assert_eq!(env.refresh(&token_of(&other, "refresh_token")).await.status, 200);
}

#[tokio::test]
async fn two_parallel_refreshes_with_one_token_both_leave_the_user_signed_in() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let token = token_of(&tokens, "refresh_token");

    let (a, b) = join(env.refresh(&token), env.refresh(&token)).await;

    for answer in [&a, &b] {
        let next = token_of(answer, "refresh_token");
        env.authenticate(&bearer(answer)).await.unwrap();
        env.clock.advance(1);
        assert_eq!(env.refresh(&next).await.status, 200, "each successor still refreshes");
    }
}

#[tokio::test]
async fn the_family_ends_thirty_days_after_sign_in_whatever_the_rotations() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let mut token = token_of(&tokens, "refresh_token");
    for _ in 0..3 {
        env.clock.advance(10 * 24 * 3600 - 60);
        token = token_of(&env.refresh(&token).await, "refresh_token");
    }
    env.clock.advance(180);
    assert_invalid_grant(&env.refresh(&token).await);
}

#[tokio::test]
async fn revoke_ends_the_session_and_always_answers_200() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let refresh = token_of(&tokens, "refresh_token");

    let revoked = env.revoke(&refresh).await;
    assert_eq!(revoked.status, 200);
    assert_invalid_grant(&env.refresh(&refresh).await);
    assert!(matches!(env.authenticate(&bearer(&tokens)).await, Err(ApiError::Unauthorized(_))));

    assert_eq!(env.revoke(&refresh).await.status, 200, "again");
    assert_eq!(env.revoke("never-issued").await.status, 200, "unknown token");
    let missing = env.call(Endpoint::Revoke, Value::String(String::new()), &[]).await;
    assert_eq!((missing.status, &missing.body["error"]), (400, &json!("invalid_request")));
}

#[tokio::test]
async fn the_token_endpoint_answers_rfc_6749_errors() {
    let env = TestEnv::new().await;
    for (body, error) in [
        (json!({ "grant_type": "client_credentials" }), "unsupported_grant_type"),
        (json!({ "username": "+447871234567", "password": "x" }), "invalid_request"),
        (json!({ "grant_type": "password", "username": "+447871234567" }), "invalid_request"),
        (json!({ "grant_type": "password", "username": "not a phone", "password": "x" }), "invalid_request"),
        (json!({ "grant_type": "refresh_token" }), "invalid_request"),
        (json!({ "grant_type": "refresh_token", "refresh_token": "x".repeat(1000) }), "invalid_grant"),
        (json!({ "grant_type": ["password"] }), "invalid_request"),
        (Value::String("{".into()), "invalid_request"),
    ] {
        let answer = env.call(Endpoint::Token, body.clone(), &[]).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
        assert_eq!(answer.body["error"], error, "{body}");
        assert_eq!(answer.body["systemId"], "registration");
    }
    let no_partner = env.call(Endpoint::Token, json!({ "grant_type": "password" }), &[("x-merchant-id", None)]).await;
    assert_eq!((no_partner.status, &no_partner.body["error"]), (400, &json!("HEADER")));
}

#[tokio::test]
async fn forged_expired_and_misused_tokens_are_refused() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let access = token_of(&tokens, "access_token");
    let parts: Vec<&str> = access.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());

    let mut other_sub = claims.clone();
    other_sub["sub"] = json!("usr:00000000-0000-0000-0000-000000000001");
    let tampered = format!("{}.{}.{}", parts[0], b64(&other_sub), parts[2]);
    let kid = env.issuer.signing_kid();
    let none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "at+jwt", "kid": kid })), parts[1]);
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.into());
    hs_header.typ = Some("at+jwt".into());
    let public_key = env.issuer.jwks()["keys"][0].to_string();
    let hs256 =
        jsonwebtoken::encode(&hs_header, &claims, &jsonwebtoken::EncodingKey::from_secret(public_key.as_bytes()))
            .unwrap();
    let foreign_key =
        std::sync::Arc::new(registration::security::tokens::SigningKey::generate("someone-elses-key").unwrap());
    let mut foreign_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    foreign_header.kid = Some("someone-elses-key".into());
    foreign_header.typ = Some("at+jwt".into());
    let foreign = {
        let issuer = registration::security::tokens::TokenIssuer::new(foreign_key, e2e::ISSUER, "registration");
        let sub = claims["sub"].as_str().unwrap().trim_start_matches("usr:").to_owned();
        let subject = registration::security::tokens::Subject {
            user_id: &sub,
            merchant_id: MERCHANT,
            session_id: claims["sid"].as_str().unwrap(),
            sandbox: false,
            assurance: &registration::factors::assurance::Assurance::password(0),
        };
        issuer.access_token(&subject, registration::ports::Clock::now(env.clock.as_ref())).await.unwrap()
    };
    let refresh = token_of(&tokens, "refresh_token");

    // The genuine token is accepted, so each refusal below is the forgery's doing.
    env.authenticate(&format!("Bearer {access}")).await.unwrap();
    for (name, authorization) in [
        ("tampered", format!("Bearer {tampered}")),
        ("alg none", format!("Bearer {none}")),
        ("HS256 keyed with the public key", format!("Bearer {hs256}")),
        ("foreign kid", format!("Bearer {foreign}")),
        ("refresh token as access token", format!("Bearer {refresh}")),
        ("not bearer", format!("Basic {access}")),
        ("empty", "Bearer ".to_owned()),
    ] {
        assert!(
            matches!(env.authenticate(&authorization).await, Err(ApiError::Unauthorized(_))),
            "{name} was accepted"
        );
    }
    let other_partner = env.authenticate_as(&format!("Bearer {access}"), "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b").await;
    assert!(matches!(other_partner, Err(ApiError::Unauthorized(_))), "another partner's header");
    // Expired: 15 minutes plus the 30 s leeway.
    env.clock.advance(15 * 60 + 30);
    assert!(matches!(env.authenticate(&format!("Bearer {access}")).await, Err(ApiError::Unauthorized(_))));
    // The 401 is an envelope with a WWW-Authenticate challenge.
    let response = registration::http::response::error(&ApiError::Unauthorized("expired".into()));
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
}

#[tokio::test]
async fn an_access_token_verifies_with_pyjwt_from_the_jwks_document_alone() {
    let env = TestEnv::new().await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    let jwks = env.call(Endpoint::Jwks, Value::Null, &[]).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.headers["cache-control"], "public, max-age=300");
    assert!(jwks.body["keys"][0].get("d").is_none(), "the private key is never published");

    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_with_jwks.py");
    let run = |token: &str| {
        std::process::Command::new(&python)
            .arg(&script)
            .args([&jwks.body.to_string(), token, "registration", e2e::ISSUER])
            .output()
            .expect("run PyJWT (make test installs it into .venv)")
    };
    let access = token_of(&tokens, "access_token");
    let verified = run(&access);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    let claims: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(claims["sub"], tokens.body["user_id"]);
    assert_eq!(claims["mid"], MERCHANT);
    // AND it says how the session was authenticated (RFC 9470 acr, RFC 8176 amr, auth_time)
    assert_eq!((&claims["acr"], &claims["amr"]), (&Value::from("aal1"), &serde_json::json!(["pwd"])));
    assert_eq!(claims["auth_time"], claims["iat"], "the first session authenticated when it started");

    // The same check fails for a tampered token, so it is not a check that cannot fail.
    let mut forged = access.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert!(!run(&forged).status.success());
}

#[tokio::test]
async fn a_failure_streak_is_forgotten_after_a_day() {
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    env.registered(&phone, PASSWORD).await;
    for _ in 0..5 {
        assert_invalid_grant(&env.sign_in(&phone, "Guess-guess-1").await);
    }
    assert_eq!(env.sign_in(&phone, "Guess-guess-1").await.status, 429);
    env.clock.advance(24 * 3600);
    // A fresh streak: one failure costs nothing, and the owner signs in at once.
    assert_invalid_grant(&env.sign_in(&phone, "Guess-guess-1").await);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 200);
}
