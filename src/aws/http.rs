//! The HTTP client every AWS SDK client uses: reqwest over the process's one TLS configuration
//! ([`crate::trust`]), so the SDK brings no second HTTP stack, connection pool or trust store.
//! Connect and read timeouts come from the SDK's settings; attempt and operation timeouts and
//! retries stay with the SDK, which tells a transient failure (I/O, timeout) from the rest by
//! the [`ConnectorError`] kind chosen here.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long an idle connection to AWS is kept: as for probes, a frozen Lambda sandbox's
/// connections are likely dead after a few minutes.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// The SDK's HTTP client: one reqwest client per distinct connect/read timeout pair (in
/// practice one), built on first use and shared by every service client.
#[derive(Clone, Debug, Default)]
pub struct ReqwestHttpClient {
    clients: Arc<Mutex<HashMap<Timeouts, reqwest::Client>>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl ReqwestHttpClient {
    fn client(&self, settings: &HttpConnectorSettings) -> Result<reqwest::Client, ConnectorError> {
        let key = (settings.connect_timeout(), settings.read_timeout());
        // A poisoned lock only means another thread panicked while inserting; the map is whole.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = build(key).map_err(|e| ConnectorError::user(e.into()))?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// A reqwest client that hands the SDK's requests over as they are: no redirects, no
/// decompression (the SDK reads raw bodies), no proxy (as the SDK's own client), no added
/// headers beyond what HTTP requires.
fn build((connect, read): Timeouts) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured((*crate::trust::client_config()).clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_proxy()
        .pool_idle_timeout(POOL_IDLE);
    if let Some(t) = connect {
        builder = builder.connect_timeout(t);
    }
    if let Some(t) = read {
        builder = builder.read_timeout(t);
    }
    builder.build()
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector(self.client(settings)))
    }
}

/// One request through reqwest; a client that could not be built fails every call with why.
#[derive(Debug)]
struct Connector(Result<reqwest::Client, ConnectorError>);

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.0 {
            Ok(client) => client.clone(),
            Err(e) => {
                let error = ConnectorError::user(e.to_string().into());
                return HttpConnectorFuture::ready(Err(error));
            }
        };
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request)?;
            let response = client.execute(request).await.map_err(classify)?;
            let response: http::Response<reqwest::Body> = response.into();
            let (parts, body) = response.into_parts();
            let response = http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, reqwest::Body::wrap(body));
    reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))
}

/// The SDK retries I/O failures and timeouts (connection refused or reset, a response cut
/// short) as transient; anything else (a malformed URL, a redirect) is not.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
