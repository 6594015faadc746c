//! The routes in `openapi.yaml`, in `template.yaml` (what API Gateway serves) and in the local router
//! (`Cargo.toml`, what `make dev` serves) are one set, each served by the same function everywhere,
//! and every event fixture names one of them. An endpoint is one name everywhere: the operation id,
//! the function crate, the template's `Binary`, the handler module and the event files. A route or a
//! name added to one place and not the others fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

/// "METHOD /path" → the function (binary) that serves it, where the source says.
type Routes = BTreeMap<String, Option<String>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join(name)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn openapi_routes() -> Routes {
    let document = yaml("openapi.yaml");
    assert_eq!(document["openapi"].as_str(), Some("3.1.0"));
    let mut routes = Routes::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "patch", "delete"].contains(&method) {
                routes.insert(format!("{} {}", method.to_uppercase(), path.as_str().unwrap()), None);
            }
        }
    }
    routes
}

fn template_routes() -> Routes {
    let template = yaml("template.yaml");
    let mut routes = Routes::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
        let binary = binary.unwrap_or_else(|| panic!("{name:?} has no BuildProperties.Binary"));
        for (_, event) in resource["Properties"]["Events"].as_mapping().unwrap() {
            // The webhook functions take the table's stream or a queue (`event_source_functions`).
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            let route =
                format!("{} {}", props["Method"].as_str().unwrap().to_uppercase(), props["Path"].as_str().unwrap());
            assert!(routes.insert(route.clone(), Some(binary.to_owned())).is_none(), "{route} twice in the template");
        }
    }
    routes
}

/// The functions no route serves, by binary: what their event source gives them (`aws:dynamodb`
/// for the table's stream, `aws:sqs` for a queue), as the Lambda events of `events/` say it.
fn event_source_functions() -> BTreeMap<String, &'static str> {
    let template = yaml("template.yaml");
    let mut functions = BTreeMap::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        for (_, event) in resource["Properties"]["Events"].as_mapping().unwrap() {
            let source = match event["Type"].as_str() {
                Some("HttpApi") => continue,
                Some("DynamoDB") => "aws:dynamodb",
                Some("SQS") => "aws:sqs",
                other => panic!("{name:?}: an event source of type {other:?}"),
            };
            assert!(functions.insert(binary.clone(), source).is_none(), "{name:?}: two event sources");
        }
    }
    functions
}

/// The event source of a Lambda event file of `events/`, if it is not an API Gateway request.
fn event_source(event: &serde_json::Value) -> Option<&str> {
    event["Records"][0]["eventSource"].as_str()
}

fn router_routes() -> Routes {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut routes = Routes::new();
    for (path, targets) in router {
        for target in targets.as_array().unwrap() {
            let route = format!("{} {path}", target["method"].as_str().unwrap().to_uppercase());
            routes.insert(route, Some(target["function"].as_str().unwrap().to_owned()));
        }
    }
    routes
}

fn keys(routes: &Routes) -> BTreeSet<&String> {
    routes.keys().collect()
}

#[test]
fn openapi_template_and_local_router_serve_the_same_routes_with_the_same_functions() {
    let (openapi, template, router) = (openapi_routes(), template_routes(), router_routes());
    assert!(openapi.len() >= 16, "{openapi:?}");
    assert_eq!(keys(&openapi), keys(&template), "openapi.yaml against template.yaml");
    assert_eq!(keys(&template), keys(&router), "template.yaml against the router in Cargo.toml");
    assert_eq!(template, router, "a route is served by different functions in the template and locally");
}

/// "METHOD /path" → operationId.
fn operation_ids() -> BTreeMap<String, String> {
    let document = yaml("openapi.yaml");
    let mut ids = BTreeMap::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            if let Some(id) = operation["operationId"].as_str() {
                let route = format!("{} {}", method.as_str().unwrap().to_uppercase(), path.as_str().unwrap());
                ids.insert(route, id.to_owned());
            }
        }
    }
    ids
}

#[test]
fn an_endpoint_has_one_name_in_the_contract_the_template_the_handlers_and_the_events() {
    let template = template_routes();
    let ids = operation_ids();
    assert_eq!(ids.len(), template.len(), "every operation has an operationId");
    let mut named = BTreeSet::new();
    for (route, id) in &ids {
        let function = template[route].as_deref().unwrap();
        // A function's first route carries its name; a second one (a POST beside a GET) a suffix.
        assert!(id == function || id.starts_with(&format!("{function}-")), "{route}: {id} is not {function}");
        if id == function {
            named.insert(function.to_owned());
        }
        // The handler is a file or a directory of that name, by itself or in an area's directory.
        let module = function.replace('-', "_");
        let handlers = root().join("shared/src/handlers");
        let in_an_area = std::fs::read_dir(&handlers)
            .unwrap()
            .filter_map(Result::ok)
            .any(|area| area.path().join(format!("{module}.rs")).exists());
        assert!(
            handlers.join(format!("{module}.rs")).exists()
                || handlers.join(&module).join("mod.rs").exists()
                || in_an_area,
            "{function}: no shared/src/handlers/{module}.rs"
        );
    }
    let functions: BTreeSet<String> = template.values().flatten().cloned().collect();
    assert_eq!(named, functions, "every function has one operationId that is its name");

    // Every event file starts with the name of the function that serves its route.
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if event_source(&event).is_some() {
                continue;
            }
            let function = template[event["routeKey"].as_str().unwrap()].as_deref().unwrap();
            let file = path.file_stem().unwrap().to_str().unwrap();
            let longest = functions.iter().filter(|f| file.starts_with(f.as_str())).max_by_key(|f| f.len());
            assert_eq!(longest.map(String::as_str), Some(function), "{}: not named after {function}", path.display());
        }
    }
}

#[test]
fn every_function_crate_is_deployed_and_every_event_names_a_route_or_its_functions_source() {
    let template = template_routes();
    let sourced = event_source_functions();
    let mut deployed: BTreeSet<String> = template.values().flatten().cloned().collect();
    deployed.extend(sourced.keys().cloned());
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(crates, deployed, "functions/ against the template's functions");

    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if let Some(source) = event_source(&event) {
                // Named after a function that takes events from that source.
                let file = path.file_stem().unwrap().to_str().unwrap();
                let function = sourced.keys().filter(|f| file.starts_with(f.as_str())).max_by_key(|f| f.len());
                let function = function.unwrap_or_else(|| panic!("{}: names no function", path.display()));
                assert_eq!(sourced[function], source, "{}: not {function}'s source", path.display());
                continue;
            }
            let route = event["routeKey"].as_str().unwrap();
            assert!(template.contains_key(route), "{}: {route} is not a route", path.display());
        }
    }
}

/// One of each event, as `shared/src/webhooks/event.rs` renders it for an endpoint that takes
/// contact details in full (the fields are the same masked).
fn one_of_each_event() -> Vec<registration::webhooks::event::AccountEvent> {
    use registration::domain::email::EmailAddress;
    use registration::domain::kyc::KycLevel;
    use registration::domain::phone::PhoneNumber;
    use registration::ports::FactorKind;
    use registration::webhooks::event::{AccountEvent, Identifier, PasswordChange, RemovedBy, SessionsEnded};
    let phone = || PhoneNumber::parse("+447871234567").unwrap();
    let email = || EmailAddress::parse("ann@example.com").unwrap();
    vec![
        AccountEvent::Created { identifier: Identifier::Phone(phone()) },
        AccountEvent::Created { identifier: Identifier::Email(email()) },
        AccountEvent::Deleted,
        AccountEvent::PhoneChanged { phone: phone(), previous: None },
        AccountEvent::PhoneChanged { phone: phone(), previous: Some(phone()) },
        AccountEvent::EmailChanged { email: email(), previous: None },
        AccountEvent::EmailChanged { email: email(), previous: Some(email()) },
        AccountEvent::PasswordChanged { how: PasswordChange::Reset },
        AccountEvent::SessionsEnded { which: SessionsEnded::Others },
        AccountEvent::KycLevelChanged { level: KycLevel::Kyc1, previous: KycLevel::Kyc0 },
        AccountEvent::FactorAdded { factor: FactorKind::Totp },
        AccountEvent::FactorRemoved { factor: FactorKind::Sms, by: RemovedBy::Support },
        AccountEvent::RecoveryCodesReplaced,
    ]
}

/// `#/components/schemas/Name` → that schema.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/").unwrap();
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn names(mapping: &Value) -> BTreeSet<String> {
    mapping.as_mapping().map_or_else(BTreeSet::new, |m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
}

#[test]
fn every_webhook_event_the_service_sends_is_documented_with_exactly_the_fields_it_carries() {
    use registration::webhooks::event::{AccountEvent, Disclosure, EventRecord};
    use registration::webhooks::test_event::{TEST_EVENT_TYPE, test_body};
    let document = yaml("openapi.yaml");
    let documented = names(&document["webhooks"]);
    let mut sent: BTreeSet<String> = AccountEvent::TYPES.iter().map(|t| (*t).to_owned()).collect();
    sent.insert(TEST_EVENT_TYPE.to_owned());
    assert_eq!(documented, sent, "openapi.yaml's webhooks against event.rs and test_event.rs");

    // Each event's bodies as endpoints of either disclosure receive them, and the test event.
    let mut bodies: Vec<(&str, Vec<String>)> = one_of_each_event()
        .into_iter()
        .map(|event| {
            let kind = event.kind();
            let record = EventRecord::new(event, "user-1", "partner-1", 1_765_000_000, 1);
            (kind, vec![record.body(Disclosure::Masked), record.body(Disclosure::Full)])
        })
        .collect();
    bodies.push((TEST_EVENT_TYPE, vec![test_body("we_1", 1_765_000_000)]));
    let covered: BTreeSet<String> = bodies.iter().map(|(kind, _)| (*kind).to_owned()).collect();
    assert_eq!(covered, sent, "the test builds one of each event");
    for (kind, rendered) in bodies {
        for body in rendered {
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            let post = &document["webhooks"][kind]["post"];
            let schema = resolve(&document, &post["requestBody"]["content"]["application/json"]["schema"]);
            assert_eq!(schema["properties"]["type"]["const"].as_str(), Some(kind));
            let version = resolve(&document, &schema["properties"]["version"]);
            assert_eq!(body["version"].as_u64(), version["const"].as_u64(), "{kind}");
            let top: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
            assert_eq!(top, names(&schema["properties"]), "{kind}");

            let data_schema = &schema["properties"]["data"];
            let data: BTreeSet<String> = body["data"].as_object().unwrap().keys().cloned().collect();
            let documented_fields = names(&data_schema["properties"]);
            assert!(data.is_subset(&documented_fields), "{kind}: {data:?} not all in {documented_fields:?}");
            for required in data_schema["required"].as_sequence().unwrap() {
                assert!(data.contains(required.as_str().unwrap()), "{kind}: {required:?} missing from {body}");
            }
            for (field, value) in body["data"].as_object().unwrap() {
                let allowed = &resolve(&document, &data_schema["properties"][field.as_str()])["enum"];
                if let Some(allowed) = allowed.as_sequence() {
                    let value = value.as_str().unwrap();
                    assert!(
                        allowed.iter().any(|a| a.as_str() == Some(value)),
                        "{kind}: {field}={value} not in {allowed:?}"
                    );
                }
            }
            // Every webhook documents the three Standard Webhooks headers.
            assert_eq!(post["parameters"].as_sequence().map(Vec::len), Some(3), "{kind}");
        }
    }
}
