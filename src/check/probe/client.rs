//! The HTTP clients probes use: one shared client built once at init, and one per private CA
//! file (`ca_file`), built from the same settings on first use.

use super::error::ProbeError;
use super::{redirect, transport};
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
    builder().build()
}

/// The shared client settings; a target with a private CA gets a client built from the same.
fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
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
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ProbeError::CaFileNotPem {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
    let client = builder()
        .tls_certs_merge(certs)
        .build()
        .map_err(|e| ProbeError::CaClient {
            path: shown,
            detail: e.to_string(),
        })?;
    map.insert(path.to_path_buf(), client.clone());
    Ok(client)
}
