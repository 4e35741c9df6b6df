//! [`Query`], the whole request (conditions plus paging, sorting, projection, counting), and
//! the helpers that read ZStack's REST parameters `sort` and `fields`.
//!
//! This module only holds what the client asked for; it must never consult a catalogue or
//! build SQL. Checking happens in `resolve`, SQL in `compile`.

use crate::condition::Condition;

/// ZStack's default `limit`.
pub const DEFAULT_LIMIT: i64 = 1000;

/// A query as the client sent it, REST or RPC. `Default` is "everything, first 1000 rows".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// ANDed. Identical conditions count once.
    pub conditions: Vec<Condition>,
    /// Page size; `None` means [`DEFAULT_LIMIT`]. Negative is an error.
    pub limit: Option<i64>,
    /// Offset; negative is an error.
    pub start: Option<i64>,
    /// Only the total: [`crate::Compiled::select`] is `None`.
    pub count: bool,
    /// Rows and the total; the total ignores `limit` / `start`.
    pub reply_with_count: bool,
    /// A top-level field's JSON name.
    pub sort_by: Option<String>,
    /// Descending (`sort=-f`, RPC `sortDirection=desc`).
    pub sort_desc: bool,
    /// Projection: top-level fields' JSON names. `None` or empty: all fields.
    pub fields: Option<Vec<String>>,
    /// Accepted and ignored, as in ZStack.
    pub group_by: Option<String>,
    /// Must look like `type:cond` (otherwise [`crate::QueryError::InvalidFilterName`]);
    /// otherwise ignored: hostplane has no belong-filters.
    pub filter_name: Option<String>,
}

/// Reads the REST `sort` parameter: `+f` or `f` ascending, `-f` descending. Returns the
/// field name and "descending". Python clients send `+` unencoded, so it arrives as a space;
/// surrounding whitespace is trimmed first. Repeated signs are stripped, as ZStack's
/// `stripStart` does.
pub fn parse_sort(s: &str) -> (String, bool) {
    let s = s.trim();
    if s.starts_with('-') {
        (s.trim_start_matches('-').to_owned(), true)
    } else {
        (s.trim_start_matches('+').to_owned(), false)
    }
}

/// Reads the REST `fields` parameter: one comma-separated list, each item trimmed. Splits
/// the way Java's `String.split(",")` does (trailing empty items dropped; `""` gives one
/// empty item, which compiles to an unknown-field error, as in ZStack).
pub fn parse_fields(s: &str) -> Vec<String> {
    java_split(s, ',')
        .into_iter()
        .map(|f| f.trim().to_owned())
        .collect()
}

/// Java's `String.split` with a one-character separator: trailing empty strings are
/// removed, but an input without the separator (including `""`) gives itself.
pub(crate) fn java_split(s: &str, sep: char) -> Vec<&str> {
    if !s.contains(sep) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// ZStack's `filterName` check: `filterName.split(":").length >= 2`.
pub(crate) fn filter_name_is_valid(s: &str) -> bool {
    java_split(s, ':').len() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort() {
        assert_eq!(parse_sort("+name"), ("name".into(), false));
        assert_eq!(parse_sort(" name"), ("name".into(), false));
        assert_eq!(parse_sort("name"), ("name".into(), false));
        assert_eq!(parse_sort("-name"), ("name".into(), true));
        assert_eq!(parse_sort("--name"), ("name".into(), true));
    }

    #[test]
    fn fields() {
        assert_eq!(parse_fields("uuid, name ,"), ["uuid", "name"]);
        assert_eq!(parse_fields(""), [""]);
        assert_eq!(parse_fields("uuid"), ["uuid"]);
    }

    #[test]
    fn split_like_java() {
        assert_eq!(java_split(",,,,,", ','), Vec::<&str>::new());
        assert_eq!(java_split("", ','), [""]);
        assert_eq!(java_split("a,,b,", ','), ["a", "", "b"]);
        assert_eq!(java_split(",a", ','), ["", "a"]);
    }

    #[test]
    fn filter_names() {
        for ok in ["vm:uuid=1", ":b", "a:b:c", "::b"] {
            assert!(filter_name_is_valid(ok), "{ok}");
        }
        for bad in ["", "a", "a:", ":", "::"] {
            assert!(!filter_name_is_valid(bad), "{bad}");
        }
    }
}
