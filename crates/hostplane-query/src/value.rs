//! Values: [`Value`], what a compiled statement binds, and the readers that turn a
//! condition's text into the set of column values it stands for ([`Span`]) for the number,
//! boolean and date field types.
//!
//! This module must never touch SQL text: a value only ever leaves the crate as a bound
//! parameter.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

/// A value bound to a statement placeholder. Booleans compile to `Int(0/1)`, dates to
/// `Int(epoch milliseconds)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Bind as TEXT.
    Text(String),
    /// Bind as BIGINT (`i64`).
    Int(i64),
}

/// The column values (BIGINT) a typed condition value stands for: the integers in
/// `lo..=hi`. Comparisons read it as: `= v` ⇔ `lo <= col <= hi`, `> v` ⇔ `col > hi`,
/// `>= v` ⇔ `col >= lo`, `< v` ⇔ `col < lo`, `<= v` ⇔ `col <= hi`.
///
/// * An integer `n` is `n..=n`.
/// * A non-integral number `x` is `ceil(x)..=floor(x)`, an empty span: no integer equals
///   2.5, yet `> 2.5` is `> 2` and `< 2.5` is `< 3`, exactly as a numeric comparison.
/// * A date written to the second (`Jan 6, 2017 3:51:16 AM`) is that whole second, so a date
///   copied from an inventory (printed to the second) finds the row stored to the
///   millisecond; a date with milliseconds, epoch milliseconds, and a bare day are instants.
///
/// `i128` so numbers past the `i64` range still compare correctly (see `resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub lo: i128,
    pub hi: i128,
}

impl Span {
    fn exact(n: i128) -> Self {
        Span { lo: n, hi: n }
    }

    /// No column value equals it (a non-integral number).
    #[cfg(test)]
    pub fn is_empty(self) -> bool {
        self.lo > self.hi
    }
}

/// Longest text the number and date readers look at; anything longer is not a number/date.
const MAX_NUMBER_LEN: usize = 400;

/// Reads a number for an `Int` field: an integer (any size), or a finite decimal/exponent
/// form (`2.5`, `1e9`). Surrounding whitespace is ignored.
pub(crate) fn read_int(s: &str) -> Option<Span> {
    let t = s.trim();
    if t.is_empty() || t.len() > MAX_NUMBER_LEN {
        return None;
    }
    if let Ok(n) = t.parse::<i128>() {
        return Some(Span::exact(n));
    }
    // Only plain decimal notation: rules out "inf", "NaN", "infinity".
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    let x: f64 = t.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    // `as` saturates at the i128 bounds, far outside i64.
    Some(Span {
        lo: x.ceil() as i128,
        hi: x.floor() as i128,
    })
}

/// Reads a boolean for a `Bool` field: `true`/`false` in any case, or `1`/`0`.
pub(crate) fn read_bool(s: &str) -> Option<Span> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(Span::exact(1))
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(Span::exact(0))
    } else {
        None
    }
}

/// Reads a date for a `Date` field. Accepted, after trimming (and with U+202F / U+00A0
/// read as a space, as newer JDKs print before `AM`):
///
/// * epoch milliseconds: `1483674676000`, `-5`;
/// * ZStack's (Gson's) format, local time zone: `Jan 6, 2017 3:51:16 AM`, also with a comma
///   after the year (`Jan 6, 2017, 3:51:16 AM`);
/// * RFC 3339: `2017-01-06T03:51:16Z`, `2017-01-06T11:51:16.5+08:00`;
/// * ISO without a zone, local time zone: `2017-01-06 03:51:16`, `2017-01-06T03:51:16.250`;
/// * a day, local midnight: `2017-01-06`.
///
/// Formats without fractional seconds stand for the whole second (see [`Span`]).
pub(crate) fn read_date(s: &str) -> Option<Span> {
    let t: String = s
        .trim()
        .chars()
        .map(|c| {
            if matches!(c, '\u{202f}' | '\u{a0}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let t = t.as_str();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok().map(|ms| Span::exact(ms.into()));
    }
    let whole_second = |ms: i64| Span {
        lo: ms.into(),
        hi: i128::from(ms) + 999,
    };
    let to_span = |ms: i64| {
        if t.contains('.') {
            Span::exact(ms.into())
        } else {
            whole_second(ms)
        }
    };
    for fmt in ["%b %d, %Y %I:%M:%S %p", "%b %d, %Y, %I:%M:%S %p"] {
        if let Ok(ndt) = NaiveDateTime::parse_from_str(t, fmt) {
            return local_millis(ndt).map(whole_second);
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(to_span(dt.timestamp_millis()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(ndt) = NaiveDateTime::parse_from_str(t, fmt) {
            return local_millis(ndt).map(to_span);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local_millis(d.and_hms_opt(0, 0, 0)?).map(|ms| Span::exact(ms.into()));
    }
    None
}

/// Epoch milliseconds of a local wall-clock time; the earlier one when a DST change makes it
/// ambiguous, `None` when it does not exist.
fn local_millis(ndt: NaiveDateTime) -> Option<i64> {
    Local
        .from_local_datetime(&ndt)
        .earliest()
        .map(|dt| dt.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i128 {
        let ndt = NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap();
        local_millis(ndt).unwrap().into()
    }

    #[test]
    fn ints() {
        assert_eq!(read_int("42"), Some(Span { lo: 42, hi: 42 }));
        assert_eq!(read_int(" -7 "), Some(Span { lo: -7, hi: -7 }));
        assert_eq!(read_int("+7"), Some(Span { lo: 7, hi: 7 }));
        assert_eq!(read_int("2.5"), Some(Span { lo: 3, hi: 2 }));
        assert_eq!(read_int("-2.5"), Some(Span { lo: -2, hi: -3 }));
        assert_eq!(read_int("4.0"), Some(Span { lo: 4, hi: 4 }));
        assert_eq!(read_int("1e3"), Some(Span { lo: 1000, hi: 1000 }));
        let big = read_int("99999999999999999999999").unwrap();
        assert!(big.lo > i64::MAX.into());
        let huge = read_int("1e300").unwrap();
        assert!(huge.lo > i64::MAX.into());
        for bad in [
            "", " ", "abc", "1,5", "0x10", "inf", "NaN", "infinity", "1e999", "--1", ".",
        ] {
            assert_eq!(read_int(bad), None, "{bad:?}");
        }
        assert!(read_int("2.5").unwrap().is_empty());
    }

    #[test]
    fn bools() {
        assert_eq!(read_bool("TRUE"), Some(Span::exact(1)));
        assert_eq!(read_bool("False"), Some(Span::exact(0)));
        assert_eq!(read_bool("1"), Some(Span::exact(1)));
        assert_eq!(read_bool("yes"), None);
    }

    #[test]
    fn dates() {
        let utc = 1_483_674_676_000_i128; // 2017-01-06T03:51:16Z
        assert_eq!(read_date("1483674676000"), Some(Span::exact(utc)));
        assert_eq!(read_date("-5"), Some(Span::exact(-5)));
        let second = |lo| Some(Span { lo, hi: lo + 999 });
        assert_eq!(read_date("2017-01-06T03:51:16Z"), second(utc));
        assert_eq!(read_date("2017-01-06T11:51:16+08:00"), second(utc));
        assert_eq!(
            read_date("2017-01-06T03:51:16.250Z"),
            Some(Span::exact(utc + 250))
        );
        let l = local(2017, 1, 6, 3, 51, 16);
        assert_eq!(read_date("Jan 6, 2017 3:51:16 AM"), second(l));
        assert_eq!(read_date("jan 06, 2017 03:51:16 am"), second(l));
        assert_eq!(read_date("Jan 6, 2017, 3:51:16 AM"), second(l));
        assert_eq!(read_date("Jan 6, 2017, 3:51:16\u{202f}AM"), second(l));
        let pm = local(2017, 1, 6, 15, 51, 16);
        assert_eq!(read_date("Jan 6, 2017 3:51:16 PM"), second(pm));
        assert_eq!(read_date(" 2017-01-06 03:51:16 "), second(l));
        assert_eq!(read_date("2017-01-06T03:51:16"), second(l));
        assert_eq!(
            read_date("2017-01-06 03:51:16.5"),
            Some(Span::exact(l + 500))
        );
        let midnight = local(2017, 1, 6, 0, 0, 0);
        assert_eq!(read_date("2017-01-06"), Some(Span::exact(midnight)));
        for bad in [
            "",
            "yesterday",
            "2017-13-01",
            "Jan 32, 2017 3:51:16 AM",
            "2017-01-06 25:00:00",
            "1.5",
            "-",
            "99999999999999999999",
        ] {
            assert_eq!(read_date(bad), None, "{bad:?}");
        }
    }
}
