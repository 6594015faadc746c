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
            assert_eq!(event["Type"].as_str(), Some("HttpApi"), "{name:?}");
            let props = &event["Properties"];
            let route =
                format!("{} {}", props["Method"].as_str().unwrap().to_uppercase(), props["Path"].as_str().unwrap());
            assert!(routes.insert(route.clone(), Some(binary.to_owned())).is_none(), "{route} twice in the template");
        }
    }
    routes
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
            let function = template[event["routeKey"].as_str().unwrap()].as_deref().unwrap();
            let file = path.file_stem().unwrap().to_str().unwrap();
            let longest = functions.iter().filter(|f| file.starts_with(f.as_str())).max_by_key(|f| f.len());
            assert_eq!(longest.map(String::as_str), Some(function), "{}: not named after {function}", path.display());
        }
    }
}

#[test]
fn every_function_crate_is_deployed_and_every_event_names_a_route() {
    let template = template_routes();
    let deployed: BTreeSet<String> = template.values().flatten().cloned().collect();
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(crates, deployed, "functions/ against the template's functions");

    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let route = event["routeKey"].as_str().unwrap();
            assert!(template.contains_key(route), "{}: {route} is not a route", path.display());
        }
    }
}
