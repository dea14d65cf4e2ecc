//! The built-in demo: the sample health service on 127.0.0.1 answering a trading platform's
//! `/api/health/system` through healthy and broken scenarios, each checked by the real engine
//! (`config::load` → `check::run_check`) and printed as the console table; then what the alert
//! engine would have sent over those runs (`demo_alerts`).

use crate::check::config::{self, Overrides};
use crate::check::report::Report;
use crate::entry::demo_alerts;
use sample_service::{SampleService, Scenario};
use serde_json::json;
use std::io::Write;

/// Per-target timeout in the demo: short, so the hanging scenario costs two seconds.
pub const DEMO_TIMEOUT_SECONDS: u64 = 2;

/// The scenarios the demo runs, in order.
pub const SCENARIOS: [Scenario; 5] = [
    Scenario::Healthy,
    Scenario::MarketDataStale,
    Scenario::SignalMonitorStopped,
    Scenario::ProxyBadGateway,
    Scenario::Hanging,
];

/// A scenario's section title.
pub fn title(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Healthy => "all healthy",
        Scenario::MarketDataStale => "market data stale",
        Scenario::MarketDataDown => "market data down",
        Scenario::SignalMonitorStopped => "signal monitor stopped",
        Scenario::ProxyBadGateway => "reverse proxy returns an HTML 502 page",
        Scenario::Hanging => "endpoint hangs",
    }
}

/// One sentence on what the service does in a scenario and how the demo's canary sees it.
pub fn explanation(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Healthy => "Every component reports PASS with fresh numbers.",
        Scenario::MarketDataStale => {
            "4 of 33 symbols are stale (oldest 42 minutes); the canary's own condition \
             market_data.max_age_minutes < 30 (severity WARN) flags it too."
        }
        Scenario::MarketDataDown => {
            "All 33 symbols are stale (oldest 45.5 minutes): market data reports FAIL."
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
fn retries(scenario: Scenario) -> u32 {
    match scenario {
        Scenario::ProxyBadGateway => 1,
        _ => 0,
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
            "retries": retries(scenario),
            "retry_delay_ms": 200,
            "conditions": [
                {"expr": "market_data.max_age_minutes < 30", "severity": "WARN"}
            ]
        }]
    })
    .to_string()
}

/// Checks the sample service in `scenario` with the demo's config.
async fn check(
    service: &SampleService,
    client: &reqwest::Client,
    scenario: Scenario,
) -> Result<Report, DemoError> {
    service.set(scenario);
    let config = config::load(
        None,
        Some(&demo_config_json(&service.url(), scenario)),
        &Overrides::default(),
        &|_: &str| None,
    )?;
    Ok(crate::check::run_check(&config, client, None).await)
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
            SCENARIOS.len()
        ),
    )?;
    let mut reports = Vec::new();
    for (i, scenario) in SCENARIOS.into_iter().enumerate() {
        let report = check(&service, &client, scenario).await?;
        let title = format!(
            "━━━ Scenario {} of {}: {} ",
            i + 1,
            SCENARIOS.len(),
            title(scenario)
        );
        let rule = "━".repeat(crate::sinks::console::WIDTH.saturating_sub(title.chars().count()));
        let code = crate::entry::exit::exit_code(report.status, false);
        w(
            out,
            &format!(
                "\n{title}{rule}\n{}\n\n{}→ health-canary check would exit {code}\n",
                explanation(scenario),
                crate::sinks::console::render(&report)
            ),
        )?;
        out.flush().map_err(DemoError::Write)?;
        reports.push(report);
    }
    // The service recovers: one more run, so the lifecycle ends with RESOLVED.
    reports.push(check(&service, &client, Scenario::Healthy).await?);
    let sent = demo_alerts::lifecycle(&reports).await;
    let title = "━━━ Alerts: what the runs above would have sent ";
    let rule = "━".repeat(crate::sinks::console::WIDTH.saturating_sub(title.chars().count()));
    let intro = format!(
        "The same runs as if {} minutes apart, then once more after the service recovered, \
         through the alert engine with an in-memory state store (DynamoDB when deployed): one \
         FAIL when the target starts failing, one RESOLVED when it recovers.",
        demo_alerts::DEMO_INTERVAL_MINUTES
    );
    w(
        out,
        &format!(
            "\n{title}{rule}\n{}\n\n{}",
            textwrap::fill(&intro, crate::sinks::console::WIDTH),
            demo_alerts::render_lifecycle(&sent)
        ),
    )?;
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
    fn every_scenario_config_is_valid() {
        let no_env = |_: &str| None;
        for scenario in SCENARIOS {
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
}
