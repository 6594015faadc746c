//! JSON logs through `tracing`. The SDK and HTTP stack log at `warn` only: below that they can print
//! request bodies, which carry codes and hashes.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,\
aws_smithy_http_client=warn,aws_sdk_dynamodb=warn,aws_sdk_sns=warn,aws_runtime=warn,hyper=warn,hyper_util=warn,\
rustls=warn,h2=warn,lambda_runtime=info";

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Installs the JSON subscriber on stdout, where Lambda collects it.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same subscriber writing elsewhere (tests capture it to check that no secret is logged).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_env_filter(filter())
        .with_writer(writer)
        .try_init();
}
