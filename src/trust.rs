//! The TLS trust every HTTPS client in the process shares: one rustls client configuration
//! (the `ring` provider, TLS 1.2 and 1.3, ALPN h2 and http/1.1) whose certificate verifier loads
//! the system's root certificates once, at the first TLS handshake of the process, and never
//! again. The probes' HTTP client and the AWS SDK's (see [`crate::aws`]) both use it; a target
//! with its own `ca_file` gets the same roots plus its certificates.
//!
//! The roots come from `rustls-native-certs`: `SSL_CERT_FILE` and `SSL_CERT_DIR` when set, else
//! the system bundle and certificate directory (`/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem`
//! on Amazon Linux 2023, which Lambda's `provided.al2023` runs). A run that makes no TLS
//! connection (plain-HTTP targets, a local endpoint) never reads them.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, OnceLock};

/// ALPN offered on every connection: HTTP/2 where the server has it, else HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The process's TLS client configuration, built on first call and shared afterwards. Cheap:
/// the roots are read at the first handshake, not here.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let verifier = SystemRoots::with_extra(provider(), RootCertStore::empty());
            Arc::new(config_with(Arc::new(verifier)))
        })
        .clone()
}

/// A configuration that trusts the system roots plus `extra` (a target's `ca_file`), or the
/// reason one of `extra` cannot be a trust anchor. The system roots are the process's one copy.
pub fn client_config_with(
    extra: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut anchors = RootCertStore::empty();
    for cert in extra {
        anchors.add(cert)?;
    }
    Ok(config_with(Arc::new(SystemRoots::with_extra(
        provider(),
        anchors,
    ))))
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn config_with(verifier: Arc<SystemRoots>) -> rustls::ClientConfig {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        // Cannot fail: ring's default provider supports both safe default versions.
        .unwrap_or_else(|e| unreachable!("ring supports TLS 1.2 and 1.3: {e}"))
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    config
}

/// The system roots, read and parsed once per process on first use.
fn system_roots() -> &'static Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(error = %error, "a system root certificate could not be read");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        tracing::debug!(added, ignored, "system root certificates loaded");
        if roots.is_empty() {
            Err("no system root certificates found (set SSL_CERT_FILE to a PEM bundle)".into())
        } else {
            Ok(Arc::new(roots))
        }
    })
}

/// A verifier over the system roots (plus a target's own CA certificates), built at the first
/// handshake that needs it; signature checks need no roots and use the provider directly.
#[derive(Debug)]
struct SystemRoots {
    provider: Arc<CryptoProvider>,
    extra: RootCertStore,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, rustls::Error>>,
}

impl SystemRoots {
    fn with_extra(provider: Arc<CryptoProvider>, extra: RootCertStore) -> Self {
        SystemRoots {
            provider,
            extra,
            verifier: OnceLock::new(),
        }
    }

    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let system = system_roots().as_ref().map_err(|e| general(e.clone()));
                let roots = if self.extra.is_empty() {
                    system?.clone()
                } else {
                    // A private CA is trusted on top of the system roots when there are any.
                    let mut roots = system
                        .map(|r| (**r).clone())
                        .unwrap_or_else(|_| RootCertStore::empty());
                    roots.roots.extend(self.extra.roots.iter().cloned());
                    Arc::new(roots)
                };
                WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                    .build()
                    .map_err(|e| general(e.to_string()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn general(message: String) -> rustls::Error {
    rustls::Error::General(message)
}

impl ServerCertVerifier for SystemRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_shares_one_configuration_offering_h2_and_http1() {
        let (a, b) = (client_config(), client_config());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_ca_file_certificate_that_cannot_be_a_trust_anchor_is_refused() {
        let garbage = CertificateDer::from(b"not a certificate".to_vec());
        assert!(client_config_with([garbage]).is_err());
    }

    #[test]
    fn a_private_ca_is_accepted_as_a_trust_anchor() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let config = client_config_with([ca.der().clone()]).unwrap();
        assert_eq!(config.alpn_protocols.len(), 2);
    }
}
