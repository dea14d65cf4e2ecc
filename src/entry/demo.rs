//! The built-in demo: an embedded sample service on 127.0.0.1 serving the seed
//! `/api/health/system` shape through healthy and broken scenarios, each checked by the real
//! engine (`config::load` → `check::run_check`) and printed as the console table.

use crate::check::config::{self, Overrides};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The path the sample service answers on, as in seeds/000.
pub const HEALTH_PATH: &str = "/api/health/system";

/// Per-target timeout in the demo: short, so the hanging scenario costs two seconds.
pub const DEMO_TIMEOUT_SECONDS: u64 = 2;

/// One state of the sample service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Every component PASS.
    Healthy,
    /// Some symbols stale, oldest 42 minutes: the service says WARN, a canary condition agrees.
    MarketDataStale,
    /// The signal monitor is not running: the service says FAIL.
    SignalMonitorStopped,
    /// A reverse proxy answers with an HTML 502 page instead of the service.
    ProxyBadGateway,
    /// The endpoint accepts the connection and never answers.
    Hanging,
}

impl Scenario {
    /// Every scenario, in the order the demo runs them.
    pub const ALL: [Scenario; 5] = [
        Scenario::Healthy,
        Scenario::MarketDataStale,
        Scenario::SignalMonitorStopped,
        Scenario::ProxyBadGateway,
        Scenario::Hanging,
    ];

    /// The section title.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::Healthy => "all healthy",
            Scenario::MarketDataStale => "market data stale",
            Scenario::SignalMonitorStopped => "signal monitor stopped",
            Scenario::ProxyBadGateway => "reverse proxy returns an HTML 502 page",
            Scenario::Hanging => "endpoint hangs",
        }
    }

    /// One sentence on what the service does in this scenario.
    pub fn explanation(self) -> &'static str {
        match self {
            Scenario::Healthy => "Every component reports PASS with fresh numbers.",
            Scenario::MarketDataStale => {
                "4 of 33 symbols are stale (oldest 42 minutes); the canary's own condition \
                 market_data.max_age_minutes < 30 (severity WARN) flags it too."
            }
            Scenario::SignalMonitorStopped => {
                "The signal monitor stopped: is_running is false and its last cycle is 47 minutes old."
            }
            Scenario::ProxyBadGateway => {
                "nginx answers 502 Bad Gateway with an HTML page; the canary retries once to confirm."
            }
            Scenario::Hanging => {
                "The endpoint accepts the connection and never answers; the timeout is 2 s, no retry."
            }
        }
    }

    /// Confirmation retries the demo configures: one for the 502 (to show it), else none so the
    /// demo stays quick.
    fn retries(self) -> u32 {
        match self {
            Scenario::ProxyBadGateway => 1,
            _ => 0,
        }
    }
}

/// The seed-format body (seeds/000) the sample service returns in a JSON scenario.
pub fn seed_body(scenario: Scenario) -> Option<serde_json::Value> {
    let timestamp = chrono::Utc::now().to_rfc3339();
    let healthy = json!({
        "global_status": "PASS",
        "timestamp": timestamp,
        "market_data": {"status": "PASS", "fresh_symbols": 33, "stale_symbols": 0, "max_age_minutes": 0.21},
        "market_updater": {"status": "PASS", "is_running": true, "last_heartbeat_age_minutes": 0.21},
        "signal_monitor": {"status": "PASS", "is_running": true, "last_cycle_age_minutes": 0.42},
        "telegram": {"status": "PASS", "enabled": true, "chat_id_set": true, "last_send_ok": true},
        "trade_system": {"status": "PASS", "open_orders": 22, "max_open_orders": null, "last_check_ok": true}
    });
    let mut body = healthy;
    match scenario {
        Scenario::Healthy => {}
        Scenario::MarketDataStale => {
            body["global_status"] = json!("WARN");
            body["market_data"] = json!({
                "status": "WARN", "fresh_symbols": 29, "stale_symbols": 4, "max_age_minutes": 42
            });
        }
        Scenario::SignalMonitorStopped => {
            body["global_status"] = json!("FAIL");
            body["signal_monitor"] = json!({
                "status": "FAIL", "is_running": false, "last_cycle_age_minutes": 47.5
            });
        }
        Scenario::ProxyBadGateway | Scenario::Hanging => return None,
    }
    Some(body)
}

/// The page nginx serves when the upstream is down.
pub const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The embedded sample service, listening on 127.0.0.1 until dropped.
pub struct SampleService {
    addr: SocketAddr,
    scenario: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SampleService {
    /// Binds an ephemeral port on 127.0.0.1 and starts serving the healthy scenario.
    pub async fn start() -> std::io::Result<SampleService> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let scenario = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route(HEALTH_PATH, axum::routing::get(respond))
            .with_state(scenario.clone());
        let task = tokio::spawn(async move {
            // Serving only ends when the task is aborted; an accept error ends the demo's
            // service, and the check then reports the connection failure, which is data.
            let _ = axum::serve(listener, app).await;
        });
        Ok(SampleService {
            addr,
            scenario,
            task,
        })
    }

    /// Switches what the service answers.
    pub fn set(&self, scenario: Scenario) {
        let index = Scenario::ALL
            .iter()
            .position(|s| *s == scenario)
            .unwrap_or(0);
        self.scenario.store(index, Ordering::SeqCst);
    }

    /// `http://127.0.0.1:PORT/api/health/system`.
    pub fn url(&self) -> String {
        format!("http://{}{HEALTH_PATH}", self.addr)
    }
}

impl Drop for SampleService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn respond(State(scenario): State<Arc<AtomicUsize>>) -> Response {
    let scenario = Scenario::ALL
        .get(scenario.load(Ordering::SeqCst))
        .copied()
        .unwrap_or(Scenario::Healthy);
    match scenario {
        Scenario::Hanging => {
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Scenario::ProxyBadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            BAD_GATEWAY_HTML,
        )
            .into_response(),
        json_scenario => match seed_body(json_scenario) {
            Some(body) => (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

/// Why the demo could not run (it never fails because a scenario is broken: that is the point).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The sample service could not bind 127.0.0.1.
    #[error("cannot start the sample service on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// The demo's own config was rejected (a bug in the demo).
    #[error("the demo config is invalid: {0}")]
    Config(#[from] config::ConfigError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Write(std::io::Error),
}

/// The inline JSON config the demo checks a scenario with, exactly as a user would write it.
pub fn demo_config_json(url: &str, scenario: Scenario) -> String {
    json!({
        "canary": "demo",
        "targets": [{
            "name": "trading-platform",
            "url": url,
            "timeout_seconds": DEMO_TIMEOUT_SECONDS,
            "retries": scenario.retries(),
            "retry_delay_ms": 200,
            "conditions": [
                {"expr": "market_data.max_age_minutes < 30", "severity": "WARN"}
            ]
        }]
    })
    .to_string()
}

/// Runs every scenario against the sample service and writes what a user would see.
pub async fn run(out: &mut dyn Write) -> Result<(), DemoError> {
    let service = SampleService::start().await.map_err(DemoError::Bind)?;
    let client = crate::check::probe::build_client()?;
    let w =
        |out: &mut dyn Write, text: &str| out.write_all(text.as_bytes()).map_err(DemoError::Write);
    w(
        out,
        &format!(
            "health-canary demo: a sample service on {} checked by the real engine through {} \
             scenarios. No network, no AWS.\n",
            service.url(),
            Scenario::ALL.len()
        ),
    )?;
    let no_env = |_: &str| None;
    for (i, scenario) in Scenario::ALL.into_iter().enumerate() {
        service.set(scenario);
        let config = config::load(
            None,
            Some(&demo_config_json(&service.url(), scenario)),
            &Overrides::default(),
            &no_env,
        )?;
        let report = crate::check::run_check(&config, &client).await;
        let title = format!(
            "━━━ Scenario {} of {}: {} ",
            i + 1,
            Scenario::ALL.len(),
            scenario.title()
        );
        let rule = "━".repeat(crate::sinks::console::WIDTH.saturating_sub(title.chars().count()));
        let code = crate::entry::exit::exit_code(report.status, false);
        w(
            out,
            &format!(
                "\n{title}{rule}\n{}\n\n{}→ health-canary check would exit {code}\n",
                scenario.explanation(),
                crate::sinks::console::render(&report)
            ),
        )?;
        out.flush().map_err(DemoError::Write)?;
    }
    w(
        out,
        "\nNext: check your own service with `health-canary check --url https://YOUR-HOST/api/health/system` \
         (--json for scripts, --config canary.json for several targets).\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_scenarios_follow_the_seed_shape() {
        let cases = [
            (
                Scenario::Healthy,
                "PASS",
                "market_data",
                "stale_symbols",
                json!(0),
            ),
            (
                Scenario::MarketDataStale,
                "WARN",
                "market_data",
                "max_age_minutes",
                json!(42),
            ),
            (
                Scenario::SignalMonitorStopped,
                "FAIL",
                "signal_monitor",
                "is_running",
                json!(false),
            ),
        ];
        for (scenario, global, component, field, value) in cases {
            let body = seed_body(scenario).unwrap();
            assert_eq!(body["global_status"], json!(global), "{scenario:?}");
            assert_eq!(body[component][field], value, "{scenario:?}");
            for c in [
                "market_data",
                "market_updater",
                "signal_monitor",
                "telegram",
                "trade_system",
            ] {
                assert!(body[c]["status"].is_string(), "{scenario:?} {c}");
            }
        }
        assert_eq!(seed_body(Scenario::ProxyBadGateway), None);
        assert_eq!(seed_body(Scenario::Hanging), None);
    }

    #[test]
    fn every_scenario_config_is_valid() {
        let no_env = |_: &str| None;
        for scenario in Scenario::ALL {
            let c = config::load(
                None,
                Some(&demo_config_json(
                    "http://127.0.0.1:9/api/health/system",
                    scenario,
                )),
                &Overrides::default(),
                &no_env,
            )
            .unwrap();
            assert_eq!(c.targets[0].timeout.as_secs(), DEMO_TIMEOUT_SECONDS);
            assert_eq!(c.targets[0].conditions.len(), 1);
            assert_eq!(
                c.targets[0].retries,
                u32::from(scenario == Scenario::ProxyBadGateway)
            );
        }
    }

    #[tokio::test]
    async fn sample_service_answers_each_scenario() {
        let service = SampleService::start().await.unwrap();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(500))
            .build()
            .unwrap();

        service.set(Scenario::SignalMonitorStopped);
        let r = client.get(service.url()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(body["signal_monitor"]["is_running"], json!(false));

        service.set(Scenario::ProxyBadGateway);
        let r = client.get(service.url()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 502);
        assert_eq!(r.headers()["content-type"], "text/html");
        assert!(r.text().await.unwrap().contains("<h1>502 Bad Gateway</h1>"));

        service.set(Scenario::Hanging);
        let e = client.get(service.url()).send().await.unwrap_err();
        assert!(e.is_timeout(), "{e}");

        service.set(Scenario::Healthy);
        let r = client.get(service.url()).send().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(body["global_status"], json!("PASS"));
    }
}
