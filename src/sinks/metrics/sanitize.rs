//! The one place CloudWatch names are made safe: metric names and dimension values, within
//! CloudWatch's limits, whatever a watched service sends.

/// Longest metric name CloudWatch accepts (characters).
pub const MAX_METRIC_NAME: usize = 255;
/// Longest dimension value CloudWatch accepts (characters).
pub const MAX_DIMENSION_VALUE: usize = 1024;
/// What an empty metric name becomes.
pub const EMPTY_METRIC_NAME: &str = "Unnamed";
/// What an empty (or all-control, all-blank) dimension value becomes.
pub const EMPTY_DIMENSION_VALUE: &str = "unnamed";

/// What a string is about to become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A metric name: ASCII PascalCase (`max_age_minutes` → `MaxAgeMinutes`), 1–255 characters.
    MetricName,
    /// A dimension value: the text as given, minus control characters, trimmed, 1–1,024 characters.
    DimensionValue,
}

/// Sanitises `raw` into a valid CloudWatch metric name or dimension value; never empty.
///
/// Metric names are split into words at anything that is not an ASCII letter or digit
/// (snake_case, kebab-case, dots, spaces) and each word gets an upper-case first letter; existing
/// capitals are kept, so camelCase becomes PascalCase. Dimension values keep every printable
/// character (emoji included) and turn each run of control characters into one space.
pub fn sanitize(raw: &str, key: Key) -> String {
    match key {
        Key::MetricName => {
            let mut out = String::with_capacity(raw.len().min(MAX_METRIC_NAME));
            let mut word_start = true;
            for c in raw.chars() {
                if out.len() >= MAX_METRIC_NAME {
                    break;
                }
                if c.is_ascii_alphanumeric() {
                    out.push(if word_start {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    });
                    word_start = false;
                } else {
                    word_start = true;
                }
            }
            if out.is_empty() {
                EMPTY_METRIC_NAME.to_string()
            } else {
                out
            }
        }
        Key::DimensionValue => {
            let mut cleaned = String::with_capacity(raw.len().min(4 * MAX_DIMENSION_VALUE));
            let mut in_control = false;
            for c in raw.chars() {
                if c.is_control() {
                    if !in_control {
                        cleaned.push(' ');
                    }
                    in_control = true;
                } else {
                    cleaned.push(c);
                    in_control = false;
                }
            }
            let trimmed: String = cleaned.trim().chars().take(MAX_DIMENSION_VALUE).collect();
            // Truncation can leave trailing blanks; CloudWatch would keep them, but they only
            // make two series look alike in the console.
            let trimmed = trimmed.trim_end();
            if trimmed.is_empty() {
                EMPTY_DIMENSION_VALUE.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_become_pascal_case_within_limits() {
        let long = "a".repeat(2048);
        let cases: &[(&str, &str)] = &[
            ("stale_symbols", "StaleSymbols"),
            ("max_age_minutes", "MaxAgeMinutes"),
            ("maxAgeMinutes", "MaxAgeMinutes"),
            ("max-age-minutes", "MaxAgeMinutes"),
            ("MaxAgeMinutes", "MaxAgeMinutes"),
            ("p99.latency ms", "P99LatencyMs"),
            ("HTTPStatus", "HTTPStatus"),
            ("__leading__and__trailing__", "LeadingAndTrailing"),
            ("open\u{0}orders\n", "OpenOrders"),
            ("🚀rocket_count🚀", "RocketCount"),
            ("données_reçues", "DonnEsReUes"),
            ("", "Unnamed"),
            ("___", "Unnamed"),
            ("🔥", "Unnamed"),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize(raw, Key::MetricName), *want, "input {raw:?}");
        }
        let out = sanitize(&long, Key::MetricName);
        assert_eq!(out.len(), MAX_METRIC_NAME);
        assert!(out.starts_with("Aaa"));
    }

    #[test]
    fn dimension_values_drop_control_characters_and_stay_within_limits() {
        let cases: &[(&str, &str)] = &[
            ("market_data", "market_data"),
            ("db (primary)", "db (primary)"),
            ("line1\nline2", "line1 line2"),
            ("tab\t\t\tsep", "tab sep"),
            ("bell\u{7}\u{1b}[31mred", "bell [31mred"),
            ("  padded  ", "padded"),
            ("🔥 hot path 🚀", "🔥 hot path 🚀"),
            ("", "unnamed"),
            ("   ", "unnamed"),
            ("\u{0}\u{1}\u{2}", "unnamed"),
            ("\u{85}next-line", "next-line"),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize(raw, Key::DimensionValue), *want, "input {raw:?}");
        }
    }

    #[test]
    fn dimension_values_of_two_kilobytes_are_cut_at_1024_characters() {
        let ascii = "x".repeat(2048);
        assert_eq!(sanitize(&ascii, Key::DimensionValue).chars().count(), 1024);
        // Multi-byte characters are counted as characters and never split.
        let emoji = "😀".repeat(2048);
        let out = sanitize(&emoji, Key::DimensionValue);
        assert_eq!(out.chars().count(), 1024);
        assert!(out.chars().all(|c| c == '😀'));
        // A cut that lands on a blank leaves no trailing blank.
        let spaced = format!("{} tail", "y".repeat(1023));
        assert_eq!(sanitize(&spaced, Key::DimensionValue), "y".repeat(1023));
    }
}
