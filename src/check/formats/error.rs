//! Why a body that promised JSON could not be read: the error [`read`](super::read) returns, and
//! what was promised (a JSON content type, or a forced format), quoted in every reason.

use super::shape::Format;

/// A body that was declared (or forced) to be JSON and is not a readable JSON object. `Display`
/// is the reason the target FAILs with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Nothing but whitespace.
    #[error("empty body where JSON was declared ({promise})")]
    Empty {
        /// What declared JSON.
        promise: Promise,
    },
    /// Bytes that are not UTF-8, so not JSON text.
    #[error("body is not valid UTF-8 at byte {at} ({promise})")]
    NotUtf8 {
        /// Offset of the first invalid byte in the body as received (a BOM included).
        at: usize,
        /// What declared JSON.
        promise: Promise,
    },
    /// Text that does not parse as JSON.
    #[error("body is not valid JSON ({promise}): {detail}{}", .hint.map_or("", JsonHint::text))]
    NotJson {
        /// What declared JSON.
        promise: Promise,
        /// The parser's message with its line and column, printable.
        detail: String,
        /// A likely cause, when one is recognisable.
        hint: Option<JsonHint>,
    },
    /// Valid JSON, but not an object, under a forced JSON format.
    #[error("body is {found}, expected a JSON object ({promise})")]
    NotObject {
        /// What the body is (`an array`, `a number`, …).
        found: &'static str,
        /// What declared JSON.
        promise: Promise,
    },
}

/// What promised that a body is JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Promise {
    /// The target forces this format.
    Forced(Format),
    /// The response's `Content-Type` (printable).
    ContentType(String),
}

impl std::fmt::Display for Promise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Promise::Forced(format) => write!(f, "forced format {}", format.as_str()),
            Promise::ContentType(ct) => f.write_str(ct),
        }
    }
}

/// A recognisable cause of invalid JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonHint {
    /// The body starts with `<`: an HTML error page from a proxy or gateway.
    Html,
    /// JavaScript's `NaN` or `Infinity`, which JSON does not have.
    NonJsonNumber,
    /// Nesting deeper than serde_json's recursion limit.
    TooDeep,
}

impl JsonHint {
    /// The hint as it is appended to the reason.
    pub fn text(self) -> &'static str {
        match self {
            JsonHint::Html => " (the body looks like HTML)",
            JsonHint::NonJsonNumber => " (NaN and Infinity are not JSON numbers)",
            JsonHint::TooDeep => " (nested deeper than the 128-level limit)",
        }
    }
}
