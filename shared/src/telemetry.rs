//! JSON logs through `tracing`. The SDK and HTTP stack log at `warn` only: below that they can print
//! request bodies, which carry codes and hashes.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,\
aws_smithy_http_client=warn,aws_sdk_dynamodb=warn,aws_sdk_sns=warn,aws_runtime=warn,hyper=warn,hyper_util=warn,\
rustls=warn,h2=warn,lambda_runtime=info";

/// Targets that can log a request or an event whole (a password, a code, the origin secret in a
/// header): held at these levels whatever `RUST_LOG` says (lambda_runtime logs the raw event at trace).
const CAPPED: [&str; 13] = [
    "aws_config=warn",
    "aws_smithy_runtime=warn",
    "aws_smithy_runtime_api=warn",
    "aws_smithy_http_client=warn",
    "aws_sdk_dynamodb=warn",
    "aws_sdk_sns=warn",
    "aws_runtime=warn",
    "hyper=warn",
    "hyper_util=warn",
    "rustls=warn",
    "h2=warn",
    "lambda_runtime=info",
    "lambda_http=info",
];

fn filter() -> EnvFilter {
    filter_from(std::env::var("RUST_LOG").ok().as_deref())
}

/// `rust_log` (else `DEFAULT_FILTER`), with the `CAPPED` targets held at their levels.
fn filter_from(rust_log: Option<&str>) -> EnvFilter {
    let mut filter =
        rust_log.and_then(|spec| EnvFilter::try_new(spec).ok()).unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    for cap in CAPPED {
        if let Ok(directive) = cap.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::filter_from;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rust_log_at_trace_does_not_open_the_runtimes_raw_events_or_the_sdks_bodies() {
        // GIVEN RUST_LOG=trace, as someone debugging might set it
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter_from(Some("trace")))
            .with_writer(move || writer.clone())
            .finish();
        // WHEN the runtime and the SDK log a request whole, and the service logs at trace
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "lambda_runtime", "raw event x-origin-verify: s3cr3t");
            tracing::debug!(target: "aws_smithy_runtime", "request body password=hunter2");
            tracing::trace!(target: "registration", "service trace");
        });
        // THEN only the service's own line is written
        let text = String::from_utf8(captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone()).unwrap_or_default();
        assert!(!text.contains("s3cr3t") && !text.contains("hunter2"), "{text}");
        assert!(text.contains("service trace"), "{text}");
    }
}
