//! A partner's webhook endpoints (`partners webhooks …`, issue 28): made with a secret shown once
//! and kept sealed by KMS under a purpose of its own, refused when they would reach an internal
//! network, listed without secrets, given a new contact, removed.

use e2e::{MERCHANT, TestEnv};
use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::factor_sealer::KmsSecretSealer;
use registration::ports::{SecretSealer, WebhookEndpoints};
use registration::webhooks::endpoint::EndpointRefused;
use registration::webhooks::endpoints::{
    EndpointStatus, MAX_ENDPOINTS, NewEndpoint, RegistrationRefused, RotationRefused, WebhookEndpoint, register,
    rotate, secret_of, secrets_of,
};
use registration::webhooks::event::Disclosure;

/// The table as the `partners` program reaches it.
fn registry(env: &TestEnv) -> std::sync::Arc<DynamoStore> {
    std::sync::Arc::new(DynamoStore::new(env.dynamodb.clone(), env.table.clone()))
}

fn sealer(env: &TestEnv) -> KmsSecretSealer {
    KmsSecretSealer::for_webhooks(env.kms.clone(), &env.factor_key)
}

fn new<'a>(url: &'a str, event_types: &'a [String]) -> NewEndpoint<'a> {
    NewEndpoint {
        partner_id: MERCHANT,
        url,
        event_types,
        disclosure: Disclosure::Masked,
        notify: Some("webhooks@partner-one.example.com"),
        now: 1_765_000_000,
    }
}

#[tokio::test]
async fn an_endpoint_is_made_with_a_secret_shown_once_and_kept_only_sealed() {
    // GIVEN a partner with no endpoint
    let env = TestEnv::new().await;
    let store = registry(&env);
    let only_deletions = vec!["account.deleted".to_owned()];

    // WHEN its operator makes an endpoint for deletions only
    let (made, secret) =
        register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/registration", &only_deletions))
            .await
            .unwrap();

    // THEN the partner has it, taking deletions only, its contact details masked
    let listed = store.endpoints(MERCHANT).await.unwrap();
    assert_eq!(listed, vec![made.clone()]);
    assert!(made.id.starts_with("we_"));
    assert!(made.receives("account.deleted") && !made.receives("account.phone_changed"));
    // AND the table holds the secret only sealed: no item carries its text, and the sealed form
    // opens to it for this endpoint only
    let shown = secret.expose();
    assert!(shown.starts_with("whsec_"));
    let items = env.items().await;
    assert!(!format!("{items:?}").contains(&shown[6..]), "the secret in the table");
    assert_eq!(secret_of(&sealer(&env), &made).await.unwrap().expose(), shown);
    let elsewhere = WebhookEndpoint { id: "we_another".into(), ..made.clone() };
    assert!(secret_of(&sealer(&env), &elsewhere).await.is_err(), "opened for another endpoint");
    // AND a second-factor sealer, on the same key, cannot open it (another purpose)
    let factor_sealer = KmsSecretSealer::new(env.kms.clone(), &env.factor_key);
    let subject = WebhookEndpoint::sealing_subject(MERCHANT, &made.id);
    assert!(factor_sealer.open(&subject, &made.sealed_secret).await.is_err(), "opened as a factor secret");

    // WHEN the endpoint is removed
    // THEN nothing is listed, and removing it again says so
    assert!(store.remove_endpoint(MERCHANT, &made.id).await.unwrap());
    assert!(store.endpoints(MERCHANT).await.unwrap().is_empty());
    assert!(!store.remove_endpoint(MERCHANT, &made.id).await.unwrap());
}

#[tokio::test]
async fn an_endpoint_that_would_reach_an_internal_network_or_repeats_one_is_refused() {
    // GIVEN a partner with one endpoint
    let env = TestEnv::new().await;
    let store = registry(&env);
    let every: Vec<String> = Vec::new();
    register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/a", &every)).await.unwrap();

    // WHEN its operator asks for endpoints that are not https, name internal hosts, repeat the
    // first, or name an event type that does not exist
    let refused = |url: &'static str| {
        let (store, sealer) = (store.clone(), sealer(&env));
        async move { register(store.as_ref(), &sealer, new(url, &[])).await.err().unwrap() }
    };
    // THEN each is refused with its reason, and nothing more is kept
    assert!(matches!(refused("http://hooks.example.com/a").await, RegistrationRefused::Url(EndpointRefused::NotHttps)));
    for internal in ["https://10.0.0.7/", "https://169.254.169.254/latest", "https://localhost/", "https://[::1]/"] {
        let why = refused(internal).await;
        assert!(matches!(why, RegistrationRefused::Url(EndpointRefused::NotPublic)), "{internal}: {why:?}");
    }
    assert!(matches!(refused("https://hooks.example.com/a").await, RegistrationRefused::Duplicate));
    // (the same host with a final dot is the same endpoint; a host past DNS's 253 characters none)
    assert!(matches!(refused("https://hooks.example.com./a").await, RegistrationRefused::HostName));
    let long_host: &'static str = format!("https://{}.example.com/a", vec!["a".repeat(62); 4].join(".")).leak();
    assert!(matches!(refused(long_host).await, RegistrationRefused::HostName));
    let renamed = vec!["account.renamed".to_owned()];
    let unknown = register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/b", &renamed)).await;
    assert!(matches!(unknown, Err(RegistrationRefused::UnknownEventType(_))), "{unknown:?}");
    assert_eq!(store.endpoints(MERCHANT).await.unwrap().len(), 1);
    // AND a partner holds at most MAX_ENDPOINTS
    for n in 1..MAX_ENDPOINTS {
        let url = format!("https://hooks.example.com/{n}");
        register(store.as_ref(), &sealer(&env), new(&url, &every)).await.unwrap();
    }
    let one_more = register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/more", &every)).await;
    assert!(matches!(one_more, Err(RegistrationRefused::TooMany)), "{one_more:?}");
}

#[tokio::test]
async fn a_rotated_secret_is_shown_once_kept_sealed_and_the_old_one_opens_only_for_its_overlap() {
    // GIVEN an endpoint
    let env = TestEnv::new().await;
    let store = registry(&env);
    let (made, first) = register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/r", &[])).await.unwrap();
    let now = 1_765_000_000;
    // WHEN its secret is rotated with a day's overlap
    let second = rotate(store.as_ref(), &sealer(&env), &made, 86_400, now).await.unwrap();
    // THEN deliveries in that day are signed under the new and the old secret, and after it under
    // the new one only; the table holds neither in the clear
    let kept = store.endpoint(MERCHANT, &made.id).await.unwrap().unwrap();
    let (current, previous) = secrets_of(&sealer(&env), &kept, now + 86_399).await.unwrap();
    assert_eq!((current.expose(), previous.unwrap().expose()), (second.expose(), first.expose()));
    let (current, previous) = secrets_of(&sealer(&env), &kept, now + 86_400).await.unwrap();
    assert_eq!(current.expose(), second.expose());
    assert!(previous.is_none(), "the old secret signs after its overlap");
    let items = format!("{:?}", env.items().await);
    assert!(!items.contains(&first.expose()[6..]) && !items.contains(&second.expose()[6..]));
    // WHEN a second operator rotates from the endpoint as read before the first rotation
    // THEN it is refused, and the first rotation's secret stands
    let stale = rotate(store.as_ref(), &sealer(&env), &made, 0, now).await;
    assert!(matches!(stale, Err(RotationRefused::Changed)), "{stale:?}");
    assert_eq!(
        secret_of(&sealer(&env), &store.endpoint(MERCHANT, &made.id).await.unwrap().unwrap()).await.unwrap().expose(),
        second.expose()
    );
    // WHEN it is rotated again with an overlap while the first overlap lasts
    // THEN it is refused: the receiver may still be on the first secret
    let again = rotate(store.as_ref(), &sealer(&env), &kept, 86_400, now).await;
    assert!(matches!(again, Err(RotationRefused::InOverlap(until)) if until == now + 86_400), "{again:?}");
    // WHEN it is rotated again with no overlap (the secret leaked)
    // THEN only the newest signs at once, and an overlap past a week is refused
    let third = rotate(store.as_ref(), &sealer(&env), &kept, 0, now).await.unwrap();
    let kept = store.endpoint(MERCHANT, &made.id).await.unwrap().unwrap();
    let (current, previous) = secrets_of(&sealer(&env), &kept, now).await.unwrap();
    assert_eq!(current.expose(), third.expose());
    assert!(previous.is_none());
    let long = rotate(store.as_ref(), &sealer(&env), &kept, 8 * 86_400, now).await;
    assert!(matches!(long, Err(RotationRefused::Overlap)), "{long:?}");
}

#[tokio::test]
async fn a_disabled_endpoint_is_enabled_again_once_and_an_active_one_is_left_as_it_is() {
    // GIVEN an endpoint disabled after a 410
    let env = TestEnv::new().await;
    let store = registry(&env);
    let (made, _) = register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/r", &[])).await.unwrap();
    assert!(!store.enable_endpoint(MERCHANT, &made.id).await.unwrap(), "an active endpoint enabled");
    assert!(store.disable_endpoint(MERCHANT, &made.id, "the receiver answered 410 Gone", 1).await.unwrap());
    // WHEN it is enabled
    // THEN it takes events again, and enabling it twice, or an endpoint that is not there, says so
    assert!(store.enable_endpoint(MERCHANT, &made.id).await.unwrap());
    let after = store.endpoint(MERCHANT, &made.id).await.unwrap().unwrap();
    assert_eq!(after.status, EndpointStatus::Active);
    assert!(after.receives("account.deleted"));
    assert!(!store.enable_endpoint(MERCHANT, &made.id).await.unwrap());
    assert!(!store.enable_endpoint(MERCHANT, "we_missing").await.unwrap());
}

#[tokio::test]
async fn an_endpoints_contact_changes_and_it_keeps_its_id_and_secret() {
    // GIVEN an endpoint that tells the partner's old address when it is disabled
    let env = TestEnv::new().await;
    let store = registry(&env);
    let (made, _) = register(store.as_ref(), &sealer(&env), new("https://hooks.example.com/r", &[])).await.unwrap();
    // WHEN the operator gives it a new contact (`partners webhooks notify`)
    let contact = registration::domain::email::EmailAddress::parse("oncall@partner-one.example.com").unwrap();
    assert!(store.set_notify(MERCHANT, &made.id, &contact).await.unwrap());
    // THEN it tells the new address, and is otherwise the same endpoint: its id, secret and status
    let after = store.endpoint(MERCHANT, &made.id).await.unwrap().unwrap();
    assert_eq!(after.notify, Some(contact.clone()));
    assert_eq!((&after.id, &after.sealed_secret, &after.status), (&made.id, &made.sealed_secret, &made.status));
    // AND an endpoint that is not there says so, and is not made by it
    assert!(!store.set_notify(MERCHANT, "we_missing", &contact).await.unwrap());
    assert_eq!(store.endpoints(MERCHANT).await.unwrap().len(), 1);
}
