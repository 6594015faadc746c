//! What template.yaml gives each function, read from the template itself with Globals merged in as
//! SAM merges them: no secret in any environment variable or parameter, `kms:Sign` only where tokens
//! are minted, the pepper only where codes are sealed or checked, the factor key only where factor
//! secrets are sealed or opened and only for that purpose; and parameters that refuse a
//! malformed value before anything is deployed.

use std::collections::BTreeMap;

use e2e::stack::template_path;
use serde_yaml::Value;

struct Function {
    binary: String,
    variables: BTreeMap<String, Value>,
    actions: Vec<String>,
    /// What each statement granting `secretsmanager:GetSecretValue` names as its resource, as text.
    secret_resources: Vec<String>,
    /// Each statement granting a KMS action: its actions, its resource and its condition, as text.
    kms_statements: Vec<(Vec<String>, String, String)>,
}

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(template_path()).unwrap()).unwrap()
}

/// Every string in `value`, through `!If` and the other intrinsic functions (both branches).
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Tagged(tagged) => strings(&tagged.value),
        _ => Vec::new(),
    }
}

/// The items of a list, each `!If` replaced by its branches (each is granted in some deploy).
fn if_branches(list: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for item in list.as_sequence().into_iter().flatten() {
        match item {
            Value::Tagged(tagged) if tagged.tag == "!If" => {
                let branches = tagged.value.as_sequence().map(|b| b[1..].to_vec()).unwrap_or_default();
                out.extend(branches.into_iter().filter(|b| !matches!(b, Value::Tagged(t) if t.tag == "!Ref")));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// Every function with its environment (Globals first, its own over them) and the IAM actions its policies allow.
fn functions(template: &Value) -> Vec<Function> {
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let mut variables: BTreeMap<String, Value> =
            globals.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone())).collect();
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            variables.extend(own.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone())));
        }
        let mut actions = Vec::new();
        let mut secret_resources = Vec::new();
        let mut kms_statements = Vec::new();
        for policy in if_branches(&resource["Properties"]["Policies"]) {
            for statement in if_branches(&policy["Statement"]) {
                let granted = strings(&statement["Action"]);
                if granted.iter().any(|a| a == "secretsmanager:GetSecretValue") {
                    secret_resources.push(serde_yaml::to_string(&statement["Resource"]).unwrap());
                }
                if granted.iter().any(|a| a.starts_with("kms:")) {
                    let resource = serde_yaml::to_string(&statement["Resource"]).unwrap();
                    let condition = serde_yaml::to_string(&statement["Condition"]).unwrap();
                    kms_statements.push((granted.clone(), resource, condition));
                }
                actions.extend(granted);
            }
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        out.push(Function { binary, variables, actions, secret_resources, kms_statements });
    }
    assert!(out.len() >= 20, "found only {} functions", out.len());
    out
}

/// What the function loads at cold start, which decides what it may be given: its `main.rs`, and the
/// body of the `wiring::` function that `main.rs` hands to `serve`.
/// The handler code of `function`'s module: `shared/src/handlers/<module>.rs`, the files of a
/// directory `<module>/`, or `<area>/<module>.rs` in an area's directory (`factors/`).
fn handler_sources(function: &str) -> Vec<String> {
    let module = function.replace('-', "_");
    let handlers = template_path().with_file_name("shared").join("src/handlers");
    let mut paths = vec![handlers.join(format!("{module}.rs"))];
    if let Ok(entries) = std::fs::read_dir(handlers.join(&module)) {
        paths.extend(entries.filter_map(Result::ok).map(|entry| entry.path()));
    }
    for area in std::fs::read_dir(&handlers).unwrap().filter_map(Result::ok).filter(|e| e.path().is_dir()) {
        paths.push(area.path().join(format!("{module}.rs")));
    }
    paths.iter().filter_map(|path| std::fs::read_to_string(path).ok()).collect()
}

fn loads(binary: &str) -> String {
    let root = template_path();
    let main = std::fs::read_to_string(root.with_file_name("functions").join(binary).join("src/main.rs")).unwrap();
    let wiring = std::fs::read_to_string(root.with_file_name("shared").join("src/wiring.rs")).unwrap();
    let name = main.split("wiring::").nth(1).and_then(|rest| rest.split([',', ' ', ')']).next());
    let Some(name) = name else { return main };
    let start = wiring.find(&format!("pub async fn {name}(")).unwrap_or_else(|| panic!("{binary}: wiring::{name}"));
    let body = &wiring[start..];
    let end = body[1..].find("\npub async fn ").map_or(body.len(), |i| i + 1);
    format!("{main}\n{}", &body[..end])
}

fn refs(value: &Value) -> Vec<String> {
    match value {
        Value::Tagged(tagged) => {
            let mut names = if tagged.tag == "!Ref" { strings(&tagged.value) } else { Vec::new() };
            names.extend(refs(&tagged.value));
            if tagged.tag == "!Sub" {
                for text in strings(&tagged.value) {
                    names.extend(text.split("${").skip(1).filter_map(|s| s.split('}').next()).map(str::to_owned));
                }
            }
            names
        }
        Value::Sequence(items) => items.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn no_secret_is_a_parameter_or_in_any_functions_environment() {
    let template = template();
    // GIVEN the template's parameters: none may hold a secret
    let parameters = template["Parameters"].as_mapping().unwrap();
    for (name, parameter) in parameters {
        assert_ne!(parameter["NoEcho"], Value::Bool(true), "{name:?} is a secret parameter");
        let name = name.as_str().unwrap();
        let lower = name.to_lowercase();
        assert!(
            // PepperRevision is a counter the pepper rotation raises, not the pepper.
            !((lower.contains("pepper") && !lower.ends_with("revision"))
                || lower.contains("secret")
                || lower.contains("private"))
                // SealedSigningKey is KMS ciphertext: only kms:Decrypt on SigningKeyArn opens it.
                && (!lower.contains("key")
                    || lower.ends_with("arn")
                    || lower.ends_with("publickeys")
                    || lower == "sealedsigningkey"),
            "parameter {name} looks like a secret"
        );
    }
    for function in functions(&template) {
        for (name, value) in &function.variables {
            // THEN a variable may name where a secret lives (an ARN), never hold one
            let sensitive = ["PEPPER", "SECRET", "PRIVATE", "KEY", "PASSWORD"].iter().any(|w| name.contains(w));
            // SEALED_SIGNING_KEY is KMS ciphertext, opened only by kms:Decrypt under its context.
            let names_no_secret = ["_ARN", "_PUBLIC_KEYS", "_REVISION"].iter().any(|end| name.ends_with(end))
                || name == "SEALED_SIGNING_KEY";
            assert!(!sensitive || names_no_secret, "{}: {name} holds a secret", function.binary);
            for text in strings(value) {
                assert!(text.len() < 40 || text.contains(':'), "{}: {name} holds a long literal", function.binary);
            }
            for referenced in refs(value) {
                if let Some(parameter) = parameters.get(referenced.as_str()) {
                    assert_ne!(parameter["NoEcho"], Value::Bool(true), "{}: {name}", function.binary);
                }
            }
        }
    }
}

#[test]
fn only_the_functions_that_mint_tokens_may_sign_and_no_function_reads_kms_at_init() {
    for function in functions(&template()) {
        let main = loads(&function.binary);
        let mints = main.contains("App::token_issuer(");
        let verifies = main.contains("App::token_keys(");
        let signs = function.actions.iter().any(|a| a == "kms:Sign" || a == "kms:*" || a == "*");
        assert_eq!(signs, mints, "{}: kms:Sign {signs}, mints tokens {mints}", function.binary);
        assert_eq!(function.variables.contains_key("SIGNING_KEY_ARN"), mints, "{}", function.binary);
        // The public keys come with the deploy (TokenPublicKeys, filled by `keys signing-rotate`):
        // every verifier and minter has them, and none may read KMS for them.
        let published = function.variables.get("TOKEN_PUBLIC_KEYS").map(refs).unwrap_or_default();
        assert!(!(mints || verifies) || published == ["TokenPublicKeys"], "{}: TOKEN_PUBLIC_KEYS", function.binary);
        // The sealed mode's kms:Decrypt opens the signing key, so it is the minting functions' alone;
        // the factor key (its own test below) is the only other key a function may use.
        for (actions, resource, _) in &function.kms_statements {
            if resource.contains("SigningKeyArn") {
                let allowed =
                    actions.iter().filter(|a| a.starts_with("kms:")).all(|a| a == "kms:Sign" || a == "kms:Decrypt");
                assert!(mints && allowed, "{}: KMS beyond Sign: {actions:?}", function.binary);
            } else {
                assert!(resource.contains("FactorKey"), "{}: KMS on {resource}", function.binary);
            }
        }
        assert_eq!(function.variables.contains_key("SEALED_SIGNING_KEY"), mints, "{}", function.binary);
    }
}

#[test]
fn the_pepper_reaches_exactly_the_functions_that_seal_or_check_codes() {
    // Which handlers seal or check codes, from the code: they call into `delivery` or `check_code`.
    let uses_codes = |function: &str| {
        handler_sources(function).iter().any(|source| {
            ["new_code", "check_code", "code_to_account_phone", "code_to_new_phone", "code_to_own_phone"]
                .iter()
                .any(|f| source.contains(f))
        })
    };
    let mut given = 0;
    for function in functions(&template()) {
        let has = function.variables.contains_key("CODE_PEPPER_SECRET_ARN");
        let reads = function.secret_resources.iter().any(|r| r.contains("CodePepperSecret"));
        assert_eq!(has, uses_codes(&function.binary), "{}: CODE_PEPPER_SECRET_ARN", function.binary);
        assert_eq!(reads, has, "{}: secretsmanager:GetSecretValue on the pepper", function.binary);
        given += usize::from(has);
    }
    assert!(given >= 9, "the pepper reaches {given} functions");
}

#[test]
fn the_factor_key_reaches_exactly_the_functions_that_seal_or_open_factor_secrets_for_that_purpose() {
    // Which handlers seal or open a factor secret, from the code: the sealer, or a new recovery set.
    let seals = |function: &str| {
        handler_sources(function).iter().any(|source| {
            source.contains("sealer.")
                || source.contains("sealed_recovery_set")
                || source.contains("secret_of(")
                || source.contains("secrets_of(")
        })
    };
    // The webhook deliverer opens endpoints' secrets, sealed under the same key for their own purpose.
    let purpose = |function: &str| {
        if function == "webhook-deliver" { "registration-webhook-secret" } else { "registration-factor-secret" }
    };
    let mut given = Vec::new();
    for function in functions(&template()) {
        let has = function.variables.contains_key("FACTOR_KEY_ARN");
        assert_eq!(has, seals(&function.binary), "{}: FACTOR_KEY_ARN", function.binary);
        let on_factor_key: Vec<_> =
            function.kms_statements.iter().filter(|(_, r, _)| r.contains("FactorKey")).collect();
        assert_eq!(!on_factor_key.is_empty(), has, "{}: a grant on the factor key", function.binary);
        for (actions, _, condition) in on_factor_key {
            // Sealing and opening only, and only under the purpose the sealer names.
            assert!(
                actions.iter().filter(|a| a.starts_with("kms:")).all(|a| a == "kms:Encrypt" || a == "kms:Decrypt"),
                "{}: {actions:?}",
                function.binary
            );
            assert!(
                condition.contains("kms:EncryptionContext:purpose") && condition.contains(purpose(&function.binary)),
                "{}: the factor key without its purpose: {condition}",
                function.binary
            );
        }
        if has {
            given.push(function.binary.clone());
        }
    }
    given.sort();
    assert_eq!(
        given,
        ["recovery-codes-regenerate", "sms-factor-enrol", "token", "totp-enrol", "totp-verify", "webhook-deliver"]
    );
}

#[test]
fn behind_cloudfront_every_function_is_given_the_origin_secret_and_may_read_only_it_for_that() {
    // GIVEN every function `serve` runs: it checks the origin secret for all of them (shared/src/edge.rs);
    // the webhook functions (`serve_events`) take no HTTP request, so nothing reaches them by CloudFront
    for function in functions(&template()) {
        if loads(&function.binary).contains("serve_events(") {
            continue;
        }
        // THEN each is told where it is only with edge protection, and may read exactly it
        let arn = function.variables.get("ORIGIN_VERIFY_SECRET_ARN").map(|v| serde_yaml::to_string(v).unwrap());
        let arn = arn.unwrap_or_else(|| panic!("{}: no ORIGIN_VERIFY_SECRET_ARN", function.binary));
        assert!(arn.contains("HasEdgeProtection") && arn.contains("OriginVerifySecret"), "{}: {arn}", function.binary);
        let reads = function.secret_resources.iter().filter(|r| r.contains("OriginVerifySecret")).count();
        assert_eq!(reads, 1, "{}: GetSecretValue on OriginVerifySecret", function.binary);
    }
}

#[test]
fn only_the_sumsub_functions_read_partners_sumsub_secrets_and_only_those() {
    // Which functions load Sumsub's clients, from the code; what they may read, from the template.
    let mut readers = Vec::new();
    for function in functions(&template()) {
        let loads_sumsub = loads(&function.binary).contains("App::sumsub(");
        let sumsub_grants: Vec<&String> = function.secret_resources.iter().filter(|r| r.contains("/sumsub/")).collect();
        assert_eq!(!sumsub_grants.is_empty(), loads_sumsub, "{}: GetSecretValue on Sumsub secrets", function.binary);
        for grant in sumsub_grants {
            // The prefix `partners sumsub` writes under, and nothing wider.
            assert!(grant.contains(":secret:${Table}/sumsub/*"), "{}: {grant}", function.binary);
        }
        // Every secret a function may read is the pepper, a partner's Sumsub secret or the origin secret.
        for grant in &function.secret_resources {
            let known = ["CodePepperSecret", "/sumsub/", "OriginVerifySecret"];
            assert!(known.iter().any(|k| grant.contains(k)), "{}: {grant}", function.binary);
        }
        if loads_sumsub {
            readers.push(function.binary.clone());
        }
    }
    readers.sort();
    assert_eq!(readers, ["kyc-sumsub-token", "sumsub-webhook"]);
}

#[test]
fn malformed_keys_urls_senders_and_sender_ids_are_refused_at_deploy_time() {
    // GIVEN each parameter's AllowedPattern, as CloudFormation applies it before anything is made
    let template = template();
    let pattern = |name: &str| {
        let text = template["Parameters"][name]["AllowedPattern"].as_str().unwrap_or_else(|| panic!("{name}"));
        regex::Regex::new(text).unwrap()
    };
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "SigningKeyArn",
            &["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            &[
                "",
                "arn:aws:kms:eu-west-1:123456789012:alias/tokens",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:eu-west-1:1234:key/k",
                "SET-ME",
            ],
        ),
        (
            "TokenPublicKeys",
            &[
                "1234abcd-12ab-34cd-56ef-1234567890ab:BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "a:BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,b:BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ],
            &[
                "",
                "SET-ME",
                "kid:short",
                "a:BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,",
            ],
        ),
        ("DeployDigest", &["0123456789", "abcdef0123"], &["", "SET-BY-MAKE-DEPLOY", "0123456789a", "ABCDEF0123"]),
        (
            "TokenIssuer",
            &["https://auth.example.com", "https://api.example.com/prod", "http://127.0.0.1:3000"],
            &["", "http://auth.example.com", "auth.example.com", "https://auth.example.com/?q=1", "ftp://x"],
        ),
        ("PublicBaseUrl", &["https://auth.example.com"], &["http://evil.example", "https://a b"]),
        ("EmailSender", &["no-reply@example.com", "a.b+c@mail.example.co.uk"], &["", "example.com", "a@b", "a@@b.c"]),
        ("SmsSenderId", &["", "Acme", "ACME2026ab1"], &["Acme Bank", "TwelveChars1", "Acme!"]),
        ("Stage", &["dev", "prod", "eu-1"], &["", "Prod", "a_b"]),
        ("DomainName", &["", "auth.example.com"], &["https://auth.example.com", "Auth.Example.com", "localhost"]),
        (
            "DomainCertificateArn",
            &["", "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"],
            &["arn:aws:iam::123456789012:server-certificate/x", "certificate"],
        ),
        (
            "AlarmTopicArn",
            &["", "arn:aws:sns:eu-west-1:123456789012:ops-pager"],
            &["ops-pager", "arn:aws:sqs:eu-west-1:123456789012:q"],
        ),
    ];
    for (name, good, bad) in cases {
        let allowed = pattern(name);
        // THEN the good values pass and every malformed one is refused
        for value in *good {
            assert!(allowed.is_match(value), "{name} refuses {value:?}");
        }
        for value in *bad {
            assert!(!allowed.is_match(value), "{name} accepts {value:?}");
        }
    }
}
