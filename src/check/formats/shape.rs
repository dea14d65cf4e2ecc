//! The shape every format produces: the format names (and the names earlier releases used), the
//! service's declared status, and the parsed components of a body.

use crate::check::report::{ComponentResult, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A health response format the canary can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The component map: `global_status` plus one object per component with `status` and numbers.
    ComponentMap,
    /// The service lists: `status` OK/DEGRADED/CRITICAL with `services`/`infrastructure` lists.
    ServiceLists,
    /// The component list: `overall_status` plus `components[]` with `key_metrics[]`.
    ComponentList,
    /// IETF draft-inadarei-api-health-check (`application/health+json`).
    Ietf,
    /// Spring Boot Actuator (`components`, or pre-2.2 `details`).
    Spring,
    /// ASP.NET Core health checks (JSON writer, or the plain-text default).
    Aspnet,
    /// MicroProfile Health (`checks[]` with `name`/`status`).
    Microprofile,
    /// NestJS Terminus (`info`/`error`/`details`).
    Terminus,
    /// Kubernetes `/readyz?verbose` text (`[+]name ok`).
    Kubernetes,
    /// A bare `{"status":"ok"}`-style body.
    Simple,
    /// Anything else: judged by the HTTP status alone.
    Http,
}

impl Format {
    /// Every format, in detection-priority order.
    pub const ALL: [Format; 11] = [
        Format::ComponentMap,
        Format::ServiceLists,
        Format::ComponentList,
        Format::Ietf,
        Format::Spring,
        Format::Aspnet,
        Format::Microprofile,
        Format::Terminus,
        Format::Kubernetes,
        Format::Simple,
        Format::Http,
    ];

    /// The name used in config files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ComponentMap => "component_map",
            Format::ServiceLists => "service_lists",
            Format::ComponentList => "component_list",
            Format::Ietf => "ietf",
            Format::Spring => "spring",
            Format::Aspnet => "aspnet",
            Format::Microprofile => "microprofile",
            Format::Terminus => "terminus",
            Format::Kubernetes => "kubernetes",
            Format::Simple => "simple",
            Format::Http => "http",
        }
    }

    /// Parses a config name (`auto` is handled by the caller as "no forced format"). The names
    /// of earlier releases are still accepted, so existing configs keep working.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .or_else(|| {
                FORMER_NAMES
                    .iter()
                    .find(|(former, _)| *former == name)
                    .map(|(_, f)| *f)
            })
    }
}

/// Names earlier releases used for the first formats, and what they are called now.
const FORMER_NAMES: [(&str, Format); 3] = [
    ("seed_components", Format::ComponentMap),
    ("seed_aggregator", Format::ServiceLists),
    ("seed_component_list", Format::ComponentList),
];

/// A status word the service declared, mapped onto the canary's vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    /// The word verbatim (`DEGRADED`, `UP`, `Healthy`).
    pub word: String,
    /// Its mapping.
    pub status: Status,
    /// Set when the word is not in the vocabulary (`unknown status 'X'`).
    pub reason: Option<String>,
}

/// What a format made of a body.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The format the body was read as.
    pub format: Format,
    /// The service's own overall status, when the format has one.
    pub declared: Option<Declared>,
    /// Every component the body described, judged by its own status word.
    pub components: Vec<ComponentResult>,
}

impl Parsed {
    /// A body judged by the HTTP status alone.
    pub fn http() -> Parsed {
        Parsed {
            format: Format::Http,
            declared: None,
            components: Vec::new(),
        }
    }
}

/// A JSON object, keys in body order (serde_json `preserve_order`; a duplicate key keeps its
/// first position and its last value).
pub(crate) type Object = serde_json::Map<String, Json>;
