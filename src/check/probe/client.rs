//! The HTTP clients probes use: one shared client built once at init, and one per private CA
//! file (`ca_file`), built from the same settings on first use. Both use the process's one TLS
//! configuration ([`crate::trust`]); a `ca_file` adds its certificates to the same roots.

use super::error::ProbeError;
use super::{redirect, transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The `User-Agent` every probe sends.
pub const USER_AGENT: &str = concat!("health-canary/", env!("CARGO_PKG_VERSION"));

/// How long an idle pooled connection is kept. Short, because a Lambda sandbox is frozen between
/// runs and a connection parked for minutes is likely dead on the server side.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Builds the HTTP client every probe shares (built once, at init).
pub fn build_client() -> Result<reqwest::Client, reqwest::Error> {
    builder((*crate::trust::client_config()).clone()).build()
}

/// The shared client settings over `tls`; a target with a private CA gets a client built from
/// the same settings over its own TLS configuration.
fn builder(tls: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT)
        .redirect(redirect::policy())
        .tls_info(true)
        .pool_idle_timeout(POOL_IDLE)
        .connector_layer(transport::MarkConnectLayer)
}

/// One client per CA file, built on first use and shared afterwards (like the main client).
pub(super) fn with_ca(path: &Path) -> Result<reqwest::Client, ProbeError> {
    static CLIENTS: OnceLock<Mutex<HashMap<PathBuf, reqwest::Client>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another probe panicked mid-insert; the map is still usable.
    let mut map = clients.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = map.get(path) {
        return Ok(c.clone());
    }
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|e| ProbeError::CaFileUnreadable {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let certs = pem_certificates(&pem).map_err(|detail| ProbeError::CaFileNotPem {
        path: shown.clone(),
        detail,
    })?;
    let ca_error = |detail: String| ProbeError::CaClient {
        path: shown.clone(),
        detail,
    };
    let tls = crate::trust::client_config_with(certs).map_err(|e| ca_error(e.to_string()))?;
    let client = builder(tls).build().map_err(|e| ca_error(e.to_string()))?;
    map.insert(path.to_path_buf(), client.clone());
    Ok(client)
}

/// The certificates in a PEM file, or why there are none.
fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificates".into());
    }
    Ok(certs)
}
