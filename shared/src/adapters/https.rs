//! The HTTPS client every SDK client shares. It trusts the Amazon Trust Services roots, to which every
//! AWS service endpoint chains, instead of the system store: fewer roots to trust, and no reading and
//! parsing of the system's whole CA bundle at each cold start, which was most of our init time over
//! a hello-world function (docs/bench.md, `make bench`). `AWS_TRUST_ROOTS=system` keeps the SDK's default
//! client and the system store, for an endpoint behind another CA (an HTTPS emulator, a proxy).

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};

/// Amazon Root CA 1 to 4 and Starfield Services Root CA G2 (amazontrust.com/repository).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../../certs/amazon-trust-services.pem");

/// Which roots the SDK's HTTPS connections trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRoots {
    AmazonTrustServices,
    System,
}

/// rustls on aws-lc, as the SDK's default client, trusting only the Amazon Trust Services roots.
/// Unlike the SDK's default it ignores HTTP(S)_PROXY, which Lambda does not set.
pub fn amazon_trust_services_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS);
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder().with_trust_store(trust).build().expect("a trust store without native roots is valid"),
        )
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::RootCertStore;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_bundle_gives_the_five_amazon_trust_services_roots() {
        // What the SDK does with it when it opens a connection; a bad certificate would panic there.
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        let mut roots = RootCertStore::empty();
        for cert in certs {
            roots.add(cert).expect("a usable trust anchor");
        }
        assert_eq!(roots.len(), 5);
        let subjects: Vec<String> =
            roots.roots.iter().map(|anchor| String::from_utf8_lossy(anchor.subject.as_ref()).into_owned()).collect();
        for name in
            ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4", "Starfield Services Root"]
        {
            assert!(subjects.iter().any(|s| s.contains(name)), "{name} missing");
        }
    }
}
