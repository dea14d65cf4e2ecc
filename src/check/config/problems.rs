//! What is wrong with a configuration, gathered as it is checked: each message is prefixed with the
//! field it is about (`targets[0].url: …`), and all of them are reported together.

use super::defaults::MAX_NAME_LEN;
use std::fmt::Display;
use std::ops::RangeInclusive;

/// Messages about one part of the config; `prefix` + field name says where each one points.
#[derive(Debug, Default)]
pub(super) struct Problems {
    prefix: String,
    messages: Vec<String>,
}

impl Problems {
    /// Problems whose fields sit under `prefix` (e.g. `targets[2].`, `alerts.`, or nothing).
    pub fn under(prefix: impl Into<String>) -> Problems {
        Problems {
            prefix: prefix.into(),
            messages: Vec::new(),
        }
    }

    /// Records `message` about `field`.
    pub fn push(&mut self, field: &str, message: impl Display) {
        self.messages
            .push(format!("{}{field}: {message}", self.prefix));
    }

    /// Records messages already prefixed elsewhere (a target's own problems).
    pub fn extend(&mut self, messages: Vec<String>) {
        self.messages.extend(messages);
    }

    /// Records that `value` of `field` is outside `range`, unless it is inside.
    pub fn check_range<T: PartialOrd + Display>(
        &mut self,
        field: &str,
        value: &T,
        range: &RangeInclusive<T>,
    ) {
        if !range.contains(value) {
            self.push(
                field,
                format!(
                    "{value} is out of range, use {} to {}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    /// Records that `name` of `field` is blank or too long for a CloudWatch dimension.
    pub fn check_name(&mut self, field: &str, name: &str) {
        if name.trim().is_empty() || name.len() > MAX_NAME_LEN {
            self.push(
                field,
                format!("the name must be 1 to {MAX_NAME_LEN} characters"),
            );
        }
    }

    /// How many messages were recorded so far.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The messages, in the order they were recorded.
    pub fn into_messages(self) -> Vec<String> {
        self.messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_each_message_with_its_field() {
        let mut p = Problems::under("targets[1].");
        p.push("url", "'x' is not a URL");
        p.check_range("retries", &9, &(0..=3));
        p.check_range("retries", &2, &(0..=3));
        assert_eq!(
            p.into_messages(),
            [
                "targets[1].url: 'x' is not a URL",
                "targets[1].retries: 9 is out of range, use 0 to 3"
            ]
        );
    }
}
