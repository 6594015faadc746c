//! The rotation runbooks of docs/deploy.md, run as the operator runs them (`keys`, admin/src/rotation.rs)
//! against KMS and Secrets Manager on moto, and the functions restarted as a deploy of the stage's
//! parameters would start them: a normal key rotation logs nobody out, a compromised-key rotation
//! ends the old key's tokens at once, and a pepper rotation never burns a user's attempt.

use admin::rotation::{self, KeyRotation, PepperStep, SigningMode};
use admin::samconfig::StageParameters;
use e2e::{Answer, Endpoint, TestEnv, bearer, fresh_phone};
use registration::App;
use registration::security::access_token::AccessTokenVerifier;
use registration::security::code::CodeMac;
use serde_json::Value;

const PASSWORD: &str = "Harbour-Kestrel-42";

/// A copy of the project's samconfig.toml in a directory of its own; the stage `name` in it.
pub fn fresh_stage(name: &str) -> (StageParameters, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("rotation-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("samconfig.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../samconfig.toml"), &path).unwrap();
    (StageParameters::read(&path, name).unwrap(), dir)
}

/// The functions as a deploy of `stage` starts them: template.yaml hands `SigningKeyArn` to the
/// minting functions as SIGNING_KEY_ARN (and `SealedSigningKey` as SEALED_SIGNING_KEY in the sealed
/// mode) and `TokenPublicKeys` to every function as TOKEN_PUBLIC_KEYS (tests/e2e/template_secrets.rs
/// holds the template to that).
async fn deployed(env: &mut TestEnv, stage: &StageParameters) {
    let sdk = env.moto.sdk_config().await;
    // Read back from the file, as `sam deploy` would.
    let written = StageParameters::read(stage.path(), stage.stage()).unwrap();
    let arn = written.get("SigningKeyArn").unwrap().to_owned();
    let keys = written.get("TokenPublicKeys").unwrap().to_owned();
    // SEALED_SIGNING_KEY only with SigningMode=sealed, as the template's !If gives it.
    let sealed = if written.get("SigningMode") == Some("sealed") {
        written.get("SealedSigningKey").unwrap().to_owned()
    } else {
        String::new()
    };
    let source = [
        ("SIGNING_KEY_ARN", arn.as_str()),
        ("TOKEN_PUBLIC_KEYS", keys.as_str()),
        ("TOKEN_ISSUER", e2e::ISSUER),
        ("SEALED_SIGNING_KEY", sealed.as_str()),
    ];
    let source = Present(source.into_iter().filter(|(_, v)| !v.is_empty()).collect());
    env.issuer = App::token_issuer(&sdk, &source).await.unwrap();
    let keys = App::token_keys(&source).unwrap();
    env.verifier = AccessTokenVerifier::new(&keys);
    env.jwks_document = keys.jwks().to_string();
}

/// Variables as a deployed function sees them: the ones set, and no others.
struct Present<'a>(Vec<(&'a str, &'a str)>);

impl registration::config::Source for Present<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }
}

fn kid_of(answer: &Answer) -> String {
    let token = answer.body["access_token"].as_str().unwrap();
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn jwks_kids(env: &TestEnv) -> Vec<String> {
    let jwks: Value = serde_json::from_str(&env.jwks_document).unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

/// A stage whose first `keys signing-rotate` adopted the test's key, deployed; a user signed in with it.
async fn signed_in_on_a_deployed_stage() -> (TestEnv, StageParameters, Answer, String) {
    let mut env = TestEnv::new().await;
    let kms = aws_sdk_kms::Client::new(&env.moto.sdk_config().await);
    let (mut stage, _dir) = fresh_stage("prod");
    let first = env.issuer.signing_kid().to_owned();
    let arn = format!("arn:aws:kms:{}:123456789012:key/{first}", e2e::moto::REGION);
    rotation::rotate_signing_key(&kms, &mut stage, KeyRotation::Normal, Some(&arn)).await.unwrap();
    deployed(&mut env, &stage).await;
    let tokens = env.registered(&fresh_phone(), PASSWORD).await;
    assert_eq!(kid_of(&tokens), first);
    (env, stage, tokens, first)
}

#[tokio::test]
async fn a_normal_key_rotation_logs_nobody_out_and_the_old_key_leaves_when_its_tokens_have_expired() {
    // GIVEN a user with a token signed by the stage's key
    let (mut env, mut stage, before, old_kid) = signed_in_on_a_deployed_stage().await;
    let kms = aws_sdk_kms::Client::new(&env.moto.sdk_config().await);

    // WHEN the operator runs `keys signing-rotate` and deploys
    let step = rotation::rotate_signing_key(&kms, &mut stage, KeyRotation::Normal, None).await.unwrap();
    assert!(step.to_string().contains("keys signing-finish --stage prod"), "{step}");
    deployed(&mut env, &stage).await;

    // THEN the token signed before still works, the JWKS lists the new key first, then the old
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await.status, 200);
    let new_kid = stage.get("SigningKeyArn").unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(jwks_kids(&env), [new_kid.clone(), old_kid]);
    // AND a refresh gives a token with the new kid, which works too
    let refreshed = env.refresh(before.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(kid_of(&refreshed), new_kid);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);

    // WHEN the old key's tokens have expired and `keys signing-finish` is deployed
    let step = rotation::finish_signing_rotation(&mut stage).unwrap();
    assert!(step.to_string().contains("schedule-key-deletion"), "{step}");
    deployed(&mut env, &stage).await;

    // THEN the JWKS lists one key; an old token is refused, the new one works
    assert_eq!(jwks_kids(&env), [new_kid]);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await.status, 401);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);
    // AND a second finish has nothing to do
    assert!(rotation::finish_signing_rotation(&mut stage).is_err());
}

#[tokio::test]
async fn a_compromised_key_rotation_ends_the_old_keys_tokens_with_the_deploy_and_nobody_signs_in_again() {
    // GIVEN a user with a token signed by the stage's key
    let (mut env, mut stage, before, old_kid) = signed_in_on_a_deployed_stage().await;
    let kms = aws_sdk_kms::Client::new(&env.moto.sdk_config().await);

    // WHEN the operator runs `keys signing-rotate --compromised` and deploys
    let step = rotation::rotate_signing_key(&kms, &mut stage, KeyRotation::Compromised, None).await.unwrap();
    assert!(step.to_string().contains("disable-key"), "{step}");
    deployed(&mut env, &stage).await;

    // THEN the JWKS lists the new key only, and the old token is refused at once
    let new_kid = stage.get("SigningKeyArn").unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(jwks_kids(&env), std::slice::from_ref(&new_kid));
    assert!(!jwks_kids(&env).contains(&old_kid));
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await.status, 401);
    // AND the app's refresh token (opaque, not signed) still gets a token from the new key
    let refreshed = env.refresh(before.body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(kid_of(&refreshed), new_kid);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);
}

#[tokio::test]
async fn past_the_kms_ceiling_a_sealed_key_signs_in_process_and_logs_nobody_out() {
    // GIVEN a user with a token KMS signed
    let (mut env, mut stage, before, old_kid) = signed_in_on_a_deployed_stage().await;
    let kms = aws_sdk_kms::Client::new(&env.moto.sdk_config().await);

    // WHEN the operator moves the stage to the sealed mode (`keys signing-rotate --sealed`) and deploys
    rotation::rotate_signing_key_in(&kms, &mut stage, KeyRotation::Normal, SigningMode::Sealed, None).await.unwrap();
    assert_eq!(stage.get("SigningMode"), Some("sealed"));
    deployed(&mut env, &stage).await;

    // THEN the token KMS signed still works, and a refresh gives one the sealed key signed in process
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&before), Value::Null).await.status, 200);
    let refreshed = env.refresh(before.body["refresh_token"].as_str().unwrap()).await;
    let sealed_kid = kid_of(&refreshed);
    assert!(sealed_kid.starts_with("sealed-"), "{sealed_kid}");
    assert_eq!(jwks_kids(&env), [sealed_kid.clone(), old_kid]);
    assert_eq!(env.as_user(Endpoint::ProfileGet, &bearer(&refreshed), Value::Null).await.status, 200);
    // AND the token verifies with PyJWT from the JWKS alone, as a partner would
    let jwks = env.jwks_document.clone();
    let token = refreshed.body["access_token"].as_str().unwrap();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_with_jwks.py");
    let verified = std::process::Command::new(&python)
        .arg(&script)
        .args([jwks.as_str(), token, "registration", e2e::ISSUER])
        .output()
        .expect("run PyJWT (make test installs it into .venv)");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));

    // AND a sealed key that is not the published one stops the function at init, naming it
    let sdk = env.moto.sdk_config().await;
    let arn = stage.get("SigningKeyArn").unwrap().to_owned();
    let sealed = stage.get("SealedSigningKey").unwrap().to_owned();
    let other = e2e::stack::create_signing_key(&kms).await.unwrap();
    let other_public = e2e::stack::published_public_key(&kms, &other).await.unwrap();
    let mislabelled = other_public.replacen(other.rsplit('/').next().unwrap(), &sealed_kid, 1);
    let source = Present(vec![
        ("SIGNING_KEY_ARN", arn.as_str()),
        ("TOKEN_PUBLIC_KEYS", mislabelled.as_str()),
        ("TOKEN_ISSUER", e2e::ISSUER),
        ("SEALED_SIGNING_KEY", sealed.as_str()),
    ]);
    let refused = App::token_issuer(&sdk, &source).await.err().expect("refused");
    assert!(refused.to_string().contains(&sealed_kid), "{refused}");
}

/// The code MAC a function of the current deploy holds: what it reads from the pepper's secret.
async fn code_mac_as_deployed(env: &TestEnv, secret_arn: &str) -> CodeMac {
    let sdk = env.moto.sdk_config().await;
    let source = [("TABLE_NAME", env.table.as_str()), ("CODE_PEPPER_SECRET_ARN", secret_arn)];
    let config = App::config(&sdk, &source).await.unwrap();
    CodeMac::rotating(config.code_pepper.as_ref().unwrap())
}

/// A signup whose code `sealing` sealed, confirmed by `checking`: the two environments a deploy
/// has side by side while traffic moves from one to the other.
async fn code_sealed_by_one_checks_on_the_other(env: &mut TestEnv, sealing: &CodeMac, checking: &CodeMac) -> u16 {
    let phone = fresh_phone();
    env.app.code_mac = sealing.clone();
    assert_eq!(env.signup(serde_json::json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    let code = env.latest_code(&phone).await;
    env.app.code_mac = checking.clone();
    env.confirm(&phone, &code).await.status
}

#[tokio::test]
async fn a_pepper_rotation_never_burns_an_attempt_on_a_code_another_deploy_sealed() {
    // GIVEN the stage's pepper secret, and the functions of the current deploy
    let mut env = TestEnv::new().await;
    let sdk = env.moto.sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = e2e::stack::create_pepper_secret(&secrets, &format!("pepper-rotation-{}", env.table)).await.unwrap();
    let (mut stage, _dir) = fresh_stage("prod");
    let mut deploys = vec![code_mac_as_deployed(&env, &secret).await];
    // AND a code sealed before the rotation, still in flight
    let phone = fresh_phone();
    env.app.code_mac = deploys[0].clone();
    assert_eq!(env.signup(serde_json::json!({ "phone": phone, "password": PASSWORD })).await.status, 200);
    let in_flight = env.latest_code(&phone).await;

    // WHEN the operator runs each step, each followed by a deploy
    for (step, revision) in [(PepperStep::Begin, "1"), (PepperStep::Promote, "2"), (PepperStep::Finish, "3")] {
        let done = rotation::rotate_pepper(&secrets, &secret, &mut stage, step).await.unwrap();
        assert!(
            !done
                .to_string()
                .contains(&*registration::adapters::secrets::secret_string(&secrets, &secret).await.unwrap())
        );
        assert_eq!(stage.get("PepperRevision"), Some(revision), "each step makes the deploy replace every environment");
        deploys.push(code_mac_as_deployed(&env, &secret).await);
        // THEN while traffic moves, a code sealed on either side checks on the other
        let (old, new) = (&deploys[deploys.len() - 2], &deploys[deploys.len() - 1]);
        assert_eq!(code_sealed_by_one_checks_on_the_other(&mut env, old, new).await, 200, "{step:?}: old to new");
        assert_eq!(code_sealed_by_one_checks_on_the_other(&mut env, new, old).await, 200, "{step:?}: new to old");
        if step == PepperStep::Promote {
            // AND the code sealed before the rotation still checks, after the new pepper seals
            env.app.code_mac = new.clone();
            assert_eq!(env.confirm(&phone, &in_flight).await.status, 200);
        }
    }
    // AND the steps only run in order
    assert!(rotation::rotate_pepper(&secrets, &secret, &mut stage, PepperStep::Promote).await.is_err());
    assert!(rotation::rotate_pepper(&secrets, &secret, &mut stage, PepperStep::Finish).await.is_err());
}
