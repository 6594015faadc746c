//! Alarms that can fire: every alarm on the service's own metrics (namespace `Registration`) watches
//! a metric and a set of dimensions that the functions really emit (shared/src/metrics.rs), with the
//! values they emit them under. An alarm on a metric nobody publishes never has data, and with
//! `TreatMissingData: notBreaching` it stays green for ever, as the SMS delivery alarm did.

use std::collections::BTreeSet;

use e2e::stack::template_path;
use registration::metrics::{Counts, request_record};
use serde_yaml::Value;

/// (metric, sorted dimension names) of every metric a request record declares.
fn emitted() -> BTreeSet<(String, Vec<String>)> {
    let record: serde_json::Value =
        serde_json::from_str(&request_record("stack", "signup", 200, 1, &Counts::default(), 0)).unwrap();
    let mut out = BTreeSet::new();
    for directive in record["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        assert_eq!(directive["Namespace"], "Registration");
        for dimensions in directive["Dimensions"].as_array().unwrap() {
            let mut names: Vec<String> =
                dimensions.as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
            names.sort();
            for metric in directive["Metrics"].as_array().unwrap() {
                out.insert((metric["Name"].as_str().unwrap().to_owned(), names.clone()));
            }
        }
    }
    out
}

/// Metric name → the log message counted, for each `AWS::Logs::MetricFilter` of the template whose
/// pattern is `{ $.message = "…" }` (the functions log JSON, the message at the top level).
fn from_log_lines(resources: &serde_yaml::Mapping) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for resource in resources.values().filter(|r| r["Type"] == "AWS::Logs::MetricFilter") {
        let pattern = resource["Properties"]["FilterPattern"].as_str().unwrap();
        let message =
            pattern.split('"').nth(1).unwrap_or_else(|| panic!("a filter pattern without a message: {pattern}"));
        assert!(pattern.contains("$.message ="), "a filter not on the message: {pattern}");
        for transformation in resource["Properties"]["MetricTransformations"].as_sequence().unwrap() {
            assert_eq!(transformation["MetricNamespace"], "Registration");
            out.insert(transformation["MetricName"].as_str().unwrap().to_owned(), message.to_owned());
        }
    }
    out
}

/// Whether some handler logs `message` (as a tracing event's message, a string literal).
fn logged(message: &str) -> bool {
    let handlers = template_path().with_file_name("shared").join("src/handlers");
    std::fs::read_dir(handlers)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .any(|source| source.contains(&format!("\"{message}\");")))
}

/// Whether `binary` runs under `serve_events` (an event source, no HTTP), by its `main.rs`.
fn serves_events(binary: &str) -> bool {
    let main = template_path().with_file_name("functions").join(binary).join("src/main.rs");
    std::fs::read_to_string(main).unwrap().contains("serve_events(")
}

/// A metric an alarm watches: namespace, name, and each dimension's name and value.
type Watched = (String, String, Vec<(String, Value)>);

/// Every `Metric` block in an alarm, single or in metric math.
fn watched(alarm: &Value) -> Vec<Watched> {
    let properties = &alarm["Properties"];
    let mut blocks = Vec::new();
    if properties["MetricName"].is_string() {
        blocks.push(properties.clone());
    }
    for query in properties["Metrics"].as_sequence().into_iter().flatten() {
        let metric = &query["MetricStat"]["Metric"];
        if metric.is_mapping() {
            blocks.push(metric.clone());
        }
    }
    blocks
        .iter()
        .map(|block| {
            let dimensions = block["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone()))
                .collect();
            (
                block["Namespace"].as_str().unwrap_or_default().to_owned(),
                block["MetricName"].as_str().unwrap_or_default().to_owned(),
                dimensions,
            )
        })
        .collect()
}

#[test]
fn every_alarm_on_the_services_own_metrics_watches_what_the_functions_emit() {
    let template: Value = serde_yaml::from_str(&std::fs::read_to_string(template_path()).unwrap()).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let binaries: BTreeSet<String> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned())
        .collect();
    let emitted = emitted();
    let from_logs = from_log_lines(resources);
    let mut checked = 0;
    for (name, resource) in resources {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        for (namespace, metric, dimensions) in watched(resource) {
            if namespace != "Registration" {
                continue;
            }
            checked += 1;
            let name = name.as_str().unwrap();
            // A metric a log filter of the template makes: the line it counts is one the code logs.
            if let Some(message) = from_logs.get(&metric) {
                assert!(dimensions.is_empty(), "{name}: a log filter's metric has no dimensions");
                assert!(logged(message), "{name}: {metric} counts {message:?}, which no handler logs");
                continue;
            }
            let mut names: Vec<String> = dimensions.iter().map(|(n, _)| n.clone()).collect();
            names.sort();
            // THEN the functions publish that metric under exactly those dimensions
            assert!(
                emitted.contains(&(metric.clone(), names.clone())),
                "{name}: {metric} by {names:?} is never emitted"
            );
            for (dimension, value) in &dimensions {
                match dimension.as_str() {
                    // serve.rs emits STACK_NAME, which the template sets to the stack's name.
                    "Stack" => assert!(format!("{value:?}").contains("AWS::StackName"), "{name}: Stack = {value:?}"),
                    // serve.rs emits the endpoint, which is the function's binary name.
                    "Function" => {
                        assert!(binaries.contains(value.as_str().unwrap_or_default()), "{name}: Function = {value:?}")
                    }
                    other => panic!("{name}: a dimension the functions never emit: {other}"),
                }
            }
        }
    }
    // Each HTTP function's canary alarms (the webhook functions', on Lambda's errors, are not ours),
    // and the stack-wide ones.
    let http = binaries.iter().filter(|binary| !serves_events(binary)).count();
    assert!(checked >= 2 * http + 5, "only {checked} alarm metrics checked");
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"]["STACK_NAME"];
    assert!(format!("{globals:?}").contains("AWS::StackName"), "STACK_NAME: {globals:?}");
}
