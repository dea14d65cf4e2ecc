//! The metrics contract: every metric name and dimension set the canary publishes. The alarms
//! and dashboard in `infra/` must match it; a test checks that they do.

/// CloudWatch dimension naming the canary.
pub const DIM_CANARY: &str = "Canary";
/// CloudWatch dimension naming the target.
pub const DIM_TARGET: &str = "Target";
/// CloudWatch dimension naming the component.
pub const DIM_COMPONENT: &str = "Component";

/// Per component: 0 PASS, 1 WARN, 2 FAIL. Dimensions Canary, Target, Component.
pub const COMPONENT_STATUS: &str = "ComponentStatus";
/// Per target: 0 / 1 / 2. Dimensions Canary, Target.
pub const TARGET_STATUS: &str = "TargetStatus";
/// Per target: 1 if reachable with an expected HTTP status, else 0. Dimensions Canary, Target.
pub const TARGET_UP: &str = "TargetUp";
/// Per target latency in milliseconds. Dimensions Canary, Target.
pub const RESPONSE_TIME: &str = "ResponseTime";
/// Per https target: days until the certificate expires. Dimensions Canary, Target.
pub const CERTIFICATE_DAYS_REMAINING: &str = "CertificateDaysRemaining";
/// Worst over all targets, 0 / 1 / 2. Dimension Canary.
pub const CANARY_STATUS: &str = "CanaryStatus";
/// 1 per completed run; the canary-stopped alarm watches its absence. Dimension Canary.
pub const CANARY_HEARTBEAT: &str = "CanaryHeartbeat";

/// Which dimensions a metric carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Canary.
    Canary,
    /// Canary, Target.
    Target,
    /// Canary, Target, Component.
    Component,
}

impl Scope {
    /// The dimension names, in order.
    pub fn dimensions(self) -> &'static [&'static str] {
        match self {
            Scope::Canary => &[DIM_CANARY],
            Scope::Target => &[DIM_CANARY, DIM_TARGET],
            Scope::Component => &[DIM_CANARY, DIM_TARGET, DIM_COMPONENT],
        }
    }
}

/// One fixed metric of the contract (component measurements are open-ended and not listed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// Metric name.
    pub name: &'static str,
    /// Its dimension set.
    pub scope: Scope,
    /// CloudWatch unit name (`None`, `Milliseconds`, `Count`).
    pub unit: &'static str,
    /// Whether it is a status metric (0/1/2 or 0/1) that must have an alarm or dashboard use.
    pub is_status: bool,
}

/// Every fixed metric the canary publishes.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: COMPONENT_STATUS,
        scope: Scope::Component,
        unit: "None",
        is_status: true,
    },
    MetricSpec {
        name: TARGET_STATUS,
        scope: Scope::Target,
        unit: "None",
        is_status: true,
    },
    MetricSpec {
        name: TARGET_UP,
        scope: Scope::Target,
        unit: "None",
        is_status: true,
    },
    MetricSpec {
        name: RESPONSE_TIME,
        scope: Scope::Target,
        unit: "Milliseconds",
        is_status: false,
    },
    MetricSpec {
        name: CERTIFICATE_DAYS_REMAINING,
        scope: Scope::Target,
        unit: "None",
        is_status: false,
    },
    MetricSpec {
        name: CANARY_STATUS,
        scope: Scope::Canary,
        unit: "None",
        is_status: true,
    },
    MetricSpec {
        name: CANARY_HEARTBEAT,
        scope: Scope::Canary,
        unit: "Count",
        is_status: true,
    },
];
