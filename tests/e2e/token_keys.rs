//! Access tokens signed by KMS: a KMS that is down answers 503 and leaves nothing half made (no
//! session without its tokens, no refresh token spent for nothing), and a wrong key or published
//! key is refused before it can sign. Rotations: tests/e2e/rotations.rs.

use admin::rotation::{KeyRotation, rotate_signing_key};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use e2e::{Endpoint, TestEnv, assert_error, bearer, fresh_phone};
use registration::App;
use registration::config::ConfigError;
use serde_json::Value;

const PASSWORD: &str = "Harbour-Kestrel-42";

async fn sessions(env: &TestEnv, auth: &str) -> Vec<Value> {
    let answer = env.as_user(Endpoint::SessionsList, auth, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["sessions"].as_array().unwrap().clone()
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
async fn a_key_that_is_not_a_p256_signing_key_is_refused_by_the_rotation_naming_it() {
    // GIVEN keys an operator could pick by mistake: secp256k1 for signing, and an encryption key
    let env = TestEnv::new().await;
    let sdk = env.moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let k1 = kms.create_key().key_spec(KeySpec::EccSecgP256K1).key_usage(KeyUsageType::SignVerify).send().await;
    let rsa = kms.create_key().key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::EncryptDecrypt).send().await;
    for created in [k1, rsa] {
        let arn = created.unwrap().key_metadata().unwrap().arn().unwrap().to_owned();
        // WHEN the operator rotates to it
        let (mut stage, _dir) = crate::rotations::fresh_stage("prod");
        let refused = rotate_signing_key(&kms, &mut stage, KeyRotation::Normal, Some(&arn)).await.unwrap_err();
        // THEN the rotation stops with a message that names the key, and the stage is untouched
        assert!(refused.contains(&arn), "{refused}");
        assert_eq!(stage.get("SigningKeyArn"), None);
    }
}

#[tokio::test]
async fn published_keys_that_are_malformed_or_not_the_signers_stop_the_function_at_init_naming_them() {
    // GIVEN public keys as a person could mistype them, or list in the wrong order
    let env = TestEnv::new().await;
    let sdk = env.moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let (one, two) =
        (e2e::stack::create_signing_key(&kms).await.unwrap(), e2e::stack::create_signing_key(&kms).await.unwrap());
    let (p1, p2) = (
        e2e::stack::published_public_key(&kms, &one).await.unwrap(),
        e2e::stack::published_public_key(&kms, &two).await.unwrap(),
    );
    let wrong_order = format!("{p2},{p1}");
    for (signing, published) in
        [(one.as_str(), "kid:not-a-point"), (one.as_str(), wrong_order.as_str()), (one.as_str(), "")]
    {
        // WHEN a function starts with them
        let source = [("SIGNING_KEY_ARN", signing), ("TOKEN_PUBLIC_KEYS", published), ("TOKEN_ISSUER", "i")];
        let refused = App::token_issuer(&sdk, &source).await.err().expect("refused");
        // THEN it stops at init, naming the variable: a configuration error `serve` does not retry
        assert!(matches!(refused, ConfigError::Invalid { .. } | ConfigError::Missing(_)), "{refused:?}");
        assert!(refused.to_string().contains("TOKEN_PUBLIC_KEYS"), "{refused}");
    }
    // AND a point that parses but is another key's never yields a token: KMS's signature is checked
    let mismatched = p2.replacen(two.rsplit('/').next().unwrap(), one.rsplit('/').next().unwrap(), 1);
    let source = [("SIGNING_KEY_ARN", one.as_str()), ("TOKEN_PUBLIC_KEYS", mismatched.as_str()), ("TOKEN_ISSUER", "i")];
    let issuer = App::token_issuer(&sdk, &source).await.unwrap();
    let subject = registration::security::tokens::Subject {
        user_id: "u",
        merchant_id: "m",
        session_id: "s",
        sandbox: false,
        assurance: &registration::factors::assurance::Assurance::password(0),
    };
    assert!(issuer.access_token(&subject, 1_800_000_000).await.is_err());

    // AND a pepper secret too short to seal codes safely stops a function, naming the secret
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let short = secrets.create_secret().name(format!("short-{}", env.table)).secret_string("too-short").send().await;
    let arn = short.unwrap().arn().unwrap().to_owned();
    let source = [("TABLE_NAME", env.table.as_str()), ("CODE_PEPPER_SECRET_ARN", arn.as_str())];
    let refused = App::config(&sdk, &source).await.err().expect("refused");
    assert!(matches!(refused, ConfigError::Unsuitable(_)), "{refused:?}");
    assert!(refused.to_string().contains(&arn), "{refused}");
}
