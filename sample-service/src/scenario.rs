//! The sample service's scenarios and what it answers in each: the component map body of a
//! trading platform's `/api/health/system` (five components), an nginx 502 page, or nothing.

use serde_json::{json, Value};

/// One state of the sample service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every component PASS.
    Healthy,
    /// 4 of 33 symbols stale, the oldest 42 minutes: the service says WARN.
    MarketDataStale,
    /// All 33 symbols stale for 45.5 minutes: `market_data` and the service say FAIL.
    MarketDataDown,
    /// The signal monitor is not running, its last cycle 47.5 minutes ago: the service says FAIL.
    SignalMonitorStopped,
    /// A reverse proxy answers HTTP 502 with its HTML page instead of the service.
    ProxyBadGateway,
    /// The endpoint accepts the connection and never answers.
    Hanging,
}

/// What the service sends in a scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// HTTP 200 with this JSON body.
    Json(Value),
    /// HTTP 502 with [`BAD_GATEWAY_HTML`].
    BadGateway,
    /// Nothing, ever.
    Hang,
}

/// The page nginx serves when the upstream is down.
pub const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 6] = [
        Scenario::Healthy,
        Scenario::MarketDataStale,
        Scenario::MarketDataDown,
        Scenario::SignalMonitorStopped,
        Scenario::ProxyBadGateway,
        Scenario::Hanging,
    ];

    /// The name in a pinned URL (`/scenario/market-data-down`).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::MarketDataStale => "market-data-stale",
            Scenario::MarketDataDown => "market-data-down",
            Scenario::SignalMonitorStopped => "signal-monitor-stopped",
            Scenario::ProxyBadGateway => "bad-gateway",
            Scenario::Hanging => "hanging",
        }
    }

    /// The scenario a name stands for.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What the service sends in this scenario; the body's `timestamp` is now.
    pub fn answer(self) -> Answer {
        let mut body = healthy_body();
        match self {
            Scenario::Healthy => {}
            Scenario::MarketDataStale => {
                body["global_status"] = json!("WARN");
                body["market_data"] = json!({
                    "status": "WARN", "fresh_symbols": 29, "stale_symbols": 4, "max_age_minutes": 42
                });
            }
            Scenario::MarketDataDown => {
                body["global_status"] = json!("FAIL");
                body["market_data"] = json!({
                    "status": "FAIL", "fresh_symbols": 0, "stale_symbols": 33, "max_age_minutes": 45.5
                });
            }
            Scenario::SignalMonitorStopped => {
                body["global_status"] = json!("FAIL");
                body["signal_monitor"] = json!({
                    "status": "FAIL", "is_running": false, "last_cycle_age_minutes": 47.5
                });
            }
            Scenario::ProxyBadGateway => return Answer::BadGateway,
            Scenario::Hanging => return Answer::Hang,
        }
        Answer::Json(body)
    }

    /// The JSON body of this scenario, or `None` when it answers with something else.
    pub fn body(self) -> Option<Value> {
        match self.answer() {
            Answer::Json(body) => Some(body),
            Answer::BadGateway | Answer::Hang => None,
        }
    }
}

/// Every component PASS, with the numbers a healthy platform reports.
fn healthy_body() -> Value {
    json!({
        "global_status": "PASS",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "market_data": {"status": "PASS", "fresh_symbols": 33, "stale_symbols": 0, "max_age_minutes": 0.21},
        "market_updater": {"status": "PASS", "is_running": true, "last_heartbeat_age_minutes": 0.21},
        "signal_monitor": {"status": "PASS", "is_running": true, "last_cycle_age_minutes": 0.42},
        "telegram": {"status": "PASS", "enabled": true, "chat_id_set": true, "last_send_ok": true},
        "trade_system": {"status": "PASS", "open_orders": 22, "max_open_orders": null, "last_check_ok": true}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENTS: [&str; 5] = [
        "market_data",
        "market_updater",
        "signal_monitor",
        "telegram",
        "trade_system",
    ];

    #[test]
    fn json_scenarios_keep_the_component_map_shape_and_change_one_component() {
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
                Scenario::MarketDataDown,
                "FAIL",
                "market_data",
                "stale_symbols",
                json!(33),
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
            let body = scenario.body().unwrap();
            assert_eq!(body["global_status"], json!(global), "{scenario:?}");
            assert_eq!(body[component][field], value, "{scenario:?}");
            let keys: Vec<&str> = body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys[..2], ["global_status", "timestamp"], "{scenario:?}");
            assert_eq!(keys[2..], COMPONENTS, "{scenario:?}");
            for c in COMPONENTS {
                assert!(body[c]["status"].is_string(), "{scenario:?} {c}");
            }
        }
        assert_eq!(Scenario::ProxyBadGateway.answer(), Answer::BadGateway);
        assert_eq!(Scenario::Hanging.answer(), Answer::Hang);
        assert_eq!(Scenario::Hanging.body(), None);
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Some(s));
        }
        assert_eq!(Scenario::from_name("Healthy"), None);
    }
}
