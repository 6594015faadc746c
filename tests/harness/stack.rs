//! Creates the local resources exactly as `template.yaml` declares them, so the emulator's table can
//! never drift from the deployed one.

use std::path::Path;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// The table's keys and TTL attribute, as the template declares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<(String, String)>,
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`: the stream the webhook dispatcher reads.
    pub stream_view: Option<String>,
}

pub fn template_path() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
}

fn pairs(list: &Value, name: &str, kind: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| Some((item[name].as_str()?.to_owned(), item[kind].as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl TableSpec {
    pub fn from_template() -> TableSpec {
        TableSpec::from_file(template_path()).expect("template.yaml declares the table")
    }

    pub fn from_file(path: &Path) -> Result<TableSpec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let template: Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let props = &template["Resources"]["Table"]["Properties"];
        let spec = TableSpec {
            attributes: pairs(&props["AttributeDefinitions"], "AttributeName", "AttributeType"),
            keys: pairs(&props["KeySchema"], "AttributeName", "KeyType"),
            ttl_attribute: props["TimeToLiveSpecification"]["AttributeName"].as_str().map(str::to_owned),
            stream_view: props["StreamSpecification"]["StreamViewType"].as_str().map(str::to_owned),
        };
        if spec.keys.is_empty() {
            return Err(format!("{}: Resources.Table has no KeySchema", path.display()));
        }
        Ok(spec)
    }
}

/// Creates the table and turns on TTL; an existing table is left as it is.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, spec: &TableSpec) -> Result<(), String> {
    let mut create = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for (attr, kind) in &spec.attributes {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for (attr, kind) in &spec.keys {
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attr)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(view) = &spec.stream_view {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {
            return Ok(());
        }
        Err(e) => return Err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
    }
    if let Some(ttl) = &spec.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}

/// Verifies an SES sender identity, which moto requires before it accepts `SendEmail`.
pub async fn create_email_identity(client: &aws_sdk_sesv2::Client, sender: &str) -> Result<(), String> {
    match client.create_email_identity().email_identity(sender).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()),
    }
}

/// A token signing key as docs/deploy.md creates one: ECC_NIST_P256 for signing. Returns its ARN.
pub async fn create_signing_key(client: &aws_sdk_kms::Client) -> Result<String, String> {
    registration::adapters::kms::create_signing_key(client, "registration access tokens (local)")
        .await
        .map_err(|e| e.to_string())
}

/// The symmetric key that seals second-factor secrets, as template.yaml's `FactorKey`. Returns its ARN.
pub async fn create_factor_key(client: &aws_sdk_kms::Client) -> Result<String, String> {
    registration::adapters::kms::create_sealing_key(client, "registration second-factor secrets (local)")
        .await
        .map_err(|e| e.to_string())
}

/// The key's public half as the deploy hands it to the functions (`TokenPublicKeys`): `kid:point`.
pub async fn published_public_key(client: &aws_sdk_kms::Client, key_arn: &str) -> Result<String, String> {
    let key = registration::adapters::kms::public_key(client, key_arn).await.map_err(|e| e.to_string())?;
    Ok(key.to_parameter())
}

/// The code pepper's secret as template.yaml generates it: 64 random letters and digits. Returns its ARN.
pub async fn create_pepper_secret(client: &aws_sdk_secretsmanager::Client, name: &str) -> Result<String, String> {
    use base64::Engine;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(registration::security::random::bytes::<48>())
        .replace(['-', '_'], "x");
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
    created.arn().map(str::to_owned).ok_or_else(|| "CreateSecret returned no ARN".into())
}
