//! A sample health service on 127.0.0.1, the one the demo, the integration tests and the bench
//! all probe: a trading platform's `/api/health/system` in the component map format, answering
//! through healthy and broken [`Scenario`]s that can be switched while it runs.
//!
//! Every path answers the current scenario (set with [`SampleService::set`]), except
//! `/scenario/<name>` and anything under it, which always answer that scenario (so one service
//! can stand for several targets at once), and `/__stats`, which counts what was served.

mod scenario;

pub use scenario::{Answer, Scenario, BAD_GATEWAY_HTML};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::{IncomingStream, Listener};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// The path the service is probed on in the demo and the tests.
pub const HEALTH_PATH: &str = "/api/health/system";

/// What the service has served since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Scenario requests answered (`/__stats` is not counted).
    pub served: u64,
    /// Connections that carried at least one scenario request; fewer than `served` when clients
    /// keep connections alive.
    pub connections: u64,
}

/// The running service; it stops accepting connections when dropped.
pub struct SampleService {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// State the handlers share with the owner.
#[derive(Default)]
struct Shared {
    /// Index into [`Scenario::ALL`].
    current: AtomicUsize,
    served: AtomicU64,
    connections: AtomicU64,
}

impl SampleService {
    /// Starts on an ephemeral port of 127.0.0.1, answering [`Scenario::Healthy`].
    pub async fn start() -> std::io::Result<SampleService> {
        SampleService::start_on(0).await
    }

    /// Starts on `port` of 127.0.0.1 (0 picks a free one), answering [`Scenario::Healthy`].
    pub async fn start_on(port: u16) -> std::io::Result<SampleService> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/__stats", get(stats))
            .route("/scenario/{name}", any(pinned))
            .route("/scenario/{name}/{*rest}", any(pinned))
            .fallback(current)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<Connection>();
        let task = tokio::spawn(async move {
            // Serving ends only when the task is aborted (accept errors are retried by axum).
            let _ = axum::serve(Counted(listener), app).await;
        });
        Ok(SampleService { addr, shared, task })
    }

    /// Switches what every unpinned path answers from now on.
    pub fn set(&self, scenario: Scenario) {
        let index = Scenario::ALL
            .iter()
            .position(|s| *s == scenario)
            .unwrap_or_default();
        self.shared.current.store(index, Ordering::SeqCst);
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/api/health/system`: the current scenario.
    pub fn url(&self) -> String {
        format!("http://{}{HEALTH_PATH}", self.addr)
    }

    /// `http://127.0.0.1:PORT/scenario/<name>`: always `scenario`, whatever is set.
    pub fn pinned_url(&self, scenario: Scenario) -> String {
        format!("http://{}/scenario/{}", self.addr, scenario.name())
    }

    /// What it has served so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
}

impl Drop for SampleService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    fn stats(&self) -> Stats {
        Stats {
            served: self.served.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }

    /// Counts a scenario request, and its connection the first time that connection asks.
    fn count(&self, connection: &Connection) {
        self.served.fetch_add(1, Ordering::Relaxed);
        if !connection.counted.swap(true, Ordering::Relaxed) {
            self.connections.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The TCP listener, giving every accepted connection its own [`Connection`] mark.
struct Counted(TcpListener);

/// One accepted connection; whether it has been counted yet.
#[derive(Clone, Debug, Default)]
struct Connection {
    counted: Arc<AtomicBool>,
}

impl Listener for Counted {
    type Io = TcpStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (TcpStream, Connection) {
        let (io, _) = Listener::accept(&mut self.0).await;
        // Small responses on kept-alive connections: no Nagle delay between them.
        let _ = io.set_nodelay(true);
        (io, Connection::default())
    }

    fn local_addr(&self) -> std::io::Result<Connection> {
        self.0.local_addr().map(|_| Connection::default())
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, Counted>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Counted>) -> Connection {
        stream.remote_addr().clone()
    }
}

async fn current(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
) -> Response {
    shared.count(&connection);
    let scenario = Scenario::ALL
        .get(shared.current.load(Ordering::SeqCst))
        .copied()
        .unwrap_or(Scenario::Healthy);
    answer(scenario).await
}

async fn pinned(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let name = params
        .iter()
        .find(|(key, _)| key == "name")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    let Some(scenario) = Scenario::from_name(name) else {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        let text = format!("no scenario '{name}'; one of {}\n", names.join(", "));
        return (StatusCode::NOT_FOUND, text).into_response();
    };
    shared.count(&connection);
    answer(scenario).await
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let Stats {
        served,
        connections,
    } = shared.stats();
    let body = serde_json::json!({"served": served, "connections": connections});
    json_response(StatusCode::OK, body.to_string())
}

async fn answer(scenario: Scenario) -> Response {
    match scenario.answer() {
        Answer::Json(body) => json_response(StatusCode::OK, body.to_string()),
        Answer::BadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            BAD_GATEWAY_HTML,
        )
            .into_response(),
        Answer::Hang => std::future::pending().await,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends GETs for `paths` on one kept-alive connection; the last asks to close. Returns the
    /// raw response text.
    async fn get(service: &SampleService, paths: &[&str]) -> String {
        let mut stream = TcpStream::connect(service.addr()).await.unwrap();
        for (i, path) in paths.iter().enumerate() {
            let close = if i + 1 == paths.len() {
                "Connection: close\r\n"
            } else {
                ""
            };
            let request = format!("GET {path} HTTP/1.1\r\nHost: sample\r\n{close}\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
        }
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        text
    }

    fn body_of(response: &str) -> serde_json::Value {
        let body = response.rsplit("\r\n\r\n").next().unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[tokio::test]
    async fn answers_the_scenario_it_is_switched_to() {
        let service = SampleService::start().await.unwrap();
        let healthy = get(&service, &[HEALTH_PATH]).await;
        assert!(healthy.starts_with("HTTP/1.1 200 OK\r\n"), "{healthy}");
        assert!(
            healthy.contains("content-type: application/json\r\n"),
            "{healthy}"
        );
        assert_eq!(body_of(&healthy)["global_status"], "PASS");

        service.set(Scenario::SignalMonitorStopped);
        let stopped = get(&service, &["/any/other/path"]).await;
        assert_eq!(body_of(&stopped)["signal_monitor"]["is_running"], false);

        service.set(Scenario::ProxyBadGateway);
        let page = get(&service, &[HEALTH_PATH]).await;
        assert!(page.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{page}");
        assert!(page.contains("content-type: text/html\r\n"), "{page}");
        assert!(page.ends_with(BAD_GATEWAY_HTML), "{page}");
    }

    #[tokio::test]
    async fn a_hanging_scenario_never_answers() {
        let service = SampleService::start().await.unwrap();
        service.set(Scenario::Hanging);
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            get(&service, &[HEALTH_PATH]),
        )
        .await;
        assert!(waited.is_err(), "answered: {waited:?}");
    }

    #[tokio::test]
    async fn pinned_paths_answer_their_scenario_whatever_is_set() {
        let service = SampleService::start().await.unwrap();
        service.set(Scenario::Hanging);
        let down = get(&service, &["/scenario/market-data-down/7"]).await;
        assert_eq!(body_of(&down)["market_data"]["status"], "FAIL");
        let url = service.pinned_url(Scenario::Healthy);
        let path = url.split_once(&service.addr().to_string()).unwrap().1;
        assert_eq!(path, "/scenario/healthy");
        assert_eq!(
            body_of(&get(&service, &[path]).await)["global_status"],
            "PASS"
        );
        let unknown = get(&service, &["/scenario/sideways"]).await;
        assert!(
            unknown.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{unknown}"
        );
        assert!(
            unknown.ends_with("no scenario 'sideways'; one of healthy, market-data-stale, market-data-down, signal-monitor-stopped, bad-gateway, hanging\n"),
            "{unknown}"
        );
    }

    #[tokio::test]
    async fn stats_count_requests_and_the_connections_that_carried_them() {
        let service = SampleService::start().await.unwrap();
        get(&service, &[HEALTH_PATH, "/scenario/healthy/1", HEALTH_PATH]).await;
        get(&service, &["/__stats"]).await;
        get(&service, &["/__stats", HEALTH_PATH]).await;
        let want = Stats {
            served: 4,
            connections: 2,
        };
        assert_eq!(service.stats(), want);
        let reported = body_of(&get(&service, &["/__stats"]).await);
        assert_eq!(reported, serde_json::json!({"served": 4, "connections": 2}));
    }
}
