//! Durations as operators write them: `30s`, `10m`, `1h`, `2d`, `1h30m`,
//! `0` (the same as `0s`). Pure: used by `--older-than`, `--interval` and to
//! print ages.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration {0:?} is empty")]
    Empty(String),
    #[error("duration {0:?}: expected numbers with units, such as 30s, 10m, 1h or 1h30m")]
    Malformed(String),
    #[error("duration {0:?}: unknown unit {1:?} (use ms, s, m, h or d)")]
    Unit(String, String),
    #[error("duration {0:?} is too long")]
    Overflow(String),
}

/// Parses a sequence of `<number><unit>` parts; units are `ms`, `s`, `m`, `h`, `d`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty(text.to_string()));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ms: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Malformed(text.to_string()));
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(DurationError::Malformed(text.to_string()));
        }
        let (unit, tail) = tail.split_at(unit_len);
        let overflow = || DurationError::Overflow(text.to_string());
        let n: u64 = number.parse().map_err(|_| overflow())?;
        let ms = n.checked_mul(unit_ms(text, unit)?).ok_or_else(overflow)?;
        total_ms = total_ms.checked_add(ms).ok_or_else(overflow)?;
        rest = tail;
    }
    Ok(Duration::from_millis(total_ms))
}

fn unit_ms(text: &str, unit: &str) -> Result<u64, DurationError> {
    Ok(match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => return Err(DurationError::Unit(text.to_string(), other.to_string())),
    })
}

/// Prints the two largest units, in the form `parse` reads: `2d3h`, `1h5m`,
/// `4m10s`, `45s`, `0s`. Sub-second parts are dropped.
pub fn format(d: Duration) -> String {
    let secs = d.as_secs();
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return "0s".to_string();
    };
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_operator_forms() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse(" 5m ").unwrap(), Duration::from_secs(300));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert!(matches!(parse(""), Err(DurationError::Empty(_))));
        assert!(matches!(parse("10"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("m"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("-1s"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("1.5h"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("1 h"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("3w"), Err(DurationError::Unit(_, _))));
        assert!(matches!(parse("10min"), Err(DurationError::Unit(_, _))));
        assert!(matches!(
            parse("99999999999999999999s"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse("999999999999999d"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_two_largest_units() {
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_millis(900)), "0s");
        assert_eq!(format(Duration::from_secs(45)), "45s");
        assert_eq!(format(Duration::from_secs(250)), "4m10s");
        assert_eq!(format(Duration::from_secs(3600)), "1h");
        assert_eq!(format(Duration::from_secs(3900)), "1h5m");
        assert_eq!(format(Duration::from_secs(3 * 86_400 + 7_205)), "3d2h");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse(&s);
        }

        #[test]
        fn whole_seconds_round_trip(secs in 0u64..10_000_000) {
            let d = Duration::from_secs(secs);
            let text = format(d);
            let back = parse(&text).unwrap();
            // Two units are kept, so what is lost is less than the second unit.
            prop_assert!(back <= d);
            prop_assert!(d - back < Duration::from_secs(3600));
            if secs < 3600 {
                prop_assert_eq!(back, d);
            }
        }

        #[test]
        fn parts_add_up(h in 0u64..1000, m in 0u64..1000, s in 0u64..1000) {
            let d = parse(&format!("{h}h{m}m{s}s")).unwrap();
            prop_assert_eq!(d.as_secs(), h * 3600 + m * 60 + s);
        }
    }
}
