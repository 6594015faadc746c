//! Access tokens signed by KMS: a key rotation logs nobody out, and a KMS that is down answers 503
//! and leaves nothing half made (no session without its tokens, no refresh token spent for nothing).

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use e2e::{Answer, Endpoint, TestEnv, assert_error, bearer, fresh_phone};
use registration::App;
use registration::config::ConfigError;
use registration::security::access_token::AccessTokenVerifier;
use serde_json::Value;

const PASSWORD: &str = "Harbour-Kestrel-42";

fn kid_of(answer: &Answer) -> String {
    let token = answer.body["access_token"].as_str().unwrap();
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn sessions(env: &TestEnv, auth: &str) -> Vec<Value> {
    let answer = env.as_user(Endpoint::SessionsList, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["sessions"].as_array().unwrap().clone()
}

/// Restarts the functions as the template configures them after a deploy with these parameters:
/// the minting functions sign with `signing`, the others verify with `verifying`.
async fn deployed_with(env: &mut TestEnv, signing: &str, verifying: &str) {
    let sdk = env.moto.sdk_config().await;
    let source = [("SIGNING_KEY_ARN", signing), ("TOKEN_KEY_ARNS", verifying), ("TOKEN_ISSUER", e2e::ISSUER)];
    env.issuer = App::token_issuer(&sdk, &source).await.unwrap();
    let keys = App::token_keys(&sdk, &source).await.unwrap();
    env.verifier = AccessTokenVerifier::new(&keys);
    env.jwks_document = keys.jwks().to_string();
}

#[tokio::test]
async fn a_key_rotation_logs_nobody_out_and_new_tokens_carry_the_new_kid() {
    // GIVEN a user signed in with a token from the current key
    let mut env = TestEnv::new().await;
    let phone = fresh_phone();
    let before = env.registered(&phone, PASSWORD).await;
    let old_kid = kid_of(&before);
    let old_key = format!("arn:aws:kms:{}:123456789012:key/{old_kid}", e2e::moto::REGION);
    let new_key =
        e2e::stack::create_signing_key(&aws_sdk_kms::Client::new(&env.moto.sdk_config().await)).await.unwrap();

    // WHEN the operator deploys with the new key signing and the old one only verifying (step 1 of docs/deploy.md)
    deployed_with(&mut env, &new_key, &format!("{new_key},{old_key}")).await;

    // THEN the token signed before the rotation still works
    let profile = env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    // AND the JWKS publishes the new key first, then the old one
    let jwks: Value = serde_json::from_str(&env.jwks_document).unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    let new_kid = new_key.rsplit('/').next().unwrap();
    assert_eq!(kids, [new_kid, old_kid.as_str()]);
    // AND a refresh gives a token with the new kid, which works too
    let refreshed = env.refresh(before.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_eq!(kid_of(&refreshed), new_kid);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);

    // WHEN the old key leaves the JWKS once its tokens have expired (step 2)
    deployed_with(&mut env, &new_key, &new_key).await;

    // THEN a token it signed is refused, and the new one still works
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await.status, 401);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);
}

#[tokio::test]
async fn when_kms_is_down_sign_in_and_refresh_answer_503_and_leave_no_session_or_spent_token() {
    // GIVEN a signed-in user
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let tokens = env.registered(&phone, PASSWORD).await;
    let refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();

    // WHEN KMS throttles every Sign
    env.signer.fail(true);
    let sign_in = env.sign_in(&phone, PASSWORD).await;
    let refreshed = env.refresh(&refresh).await;

    // THEN both answer the 503 envelope
    assert_error(&sign_in, 503, "UNAVAILABLE");
    assert_error(&refreshed, 503, "UNAVAILABLE");

    // AND once KMS is back, the account has its one session, and the refresh token was not spent
    env.signer.fail(false);
    assert_eq!(sessions(&env, &bearer(&tokens)).await.len(), 1);
    let retried = env.refresh(&refresh).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
}

#[tokio::test]
async fn when_kms_is_down_the_confirm_code_is_not_spent_and_no_account_is_half_made() {
    // GIVEN a signup waiting for its code
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    assert_eq!(env.signup(serde_json::json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    let code = env.latest_code(&phone).await;

    // WHEN the code is confirmed while KMS throttles
    env.signer.fail(true);
    assert_error(&env.confirm(&phone, &code).await, 503, "UNAVAILABLE");

    // THEN the account is still pending: no sign-in works yet
    env.signer.fail(false);
    assert_eq!(env.sign_in(&phone, PASSWORD).await.status, 400);
    // AND the same code confirms it once KMS is back
    let confirmed = env.confirm(&phone, &code).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
}

#[tokio::test]
async fn a_key_that_is_not_a_p256_signing_key_stops_the_function_at_init_naming_it() {
    // GIVEN keys an operator could pick by mistake: secp256k1 for signing, and an encryption key
    let env = TestEnv::new().await;
    let sdk = env.moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let k1 = kms.create_key().key_spec(KeySpec::EccSecgP256K1).key_usage(KeyUsageType::SignVerify).send().await;
    let rsa = kms.create_key().key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::EncryptDecrypt).send().await;
    for created in [k1, rsa] {
        let arn = created.unwrap().key_metadata().unwrap().arn().unwrap().to_owned();
        // WHEN a function starts with it
        let source = [("SIGNING_KEY_ARN", arn.as_str()), ("TOKEN_KEY_ARNS", arn.as_str()), ("TOKEN_ISSUER", "i")];
        let signing = App::token_issuer(&sdk, &source).await.err().expect("refused");
        let verifying = App::token_keys(&sdk, &source).await.expect_err("refused");
        // THEN it stops with a message that names the key: unsuitable, which `serve` does not retry
        for refused in [signing, verifying] {
            assert!(matches!(refused, ConfigError::Unsuitable(_)), "{refused:?}");
            assert!(refused.to_string().contains(&arn), "{refused}");
        }
    }
    // AND a pepper secret too short to seal codes safely stops it the same way, naming the secret
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let short = secrets.create_secret().name(format!("short-{}", env.table)).secret_string("too-short").send().await;
    let arn = short.unwrap().arn().unwrap().to_owned();
    let source = [("TABLE_NAME", env.table.as_str()), ("CODE_PEPPER_SECRET_ARN", arn.as_str())];
    let refused = App::config(&sdk, &source).await.err().expect("refused");
    assert!(matches!(refused, ConfigError::Unsuitable(_)), "{refused:?}");
    assert!(refused.to_string().contains(&arn), "{refused}");
}
