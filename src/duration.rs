//! Durations as operators write them: `30s`, `10m`, `10min`, `1h30m`,
//! `1h 30m`, `2d`, `0`. Parsing is humantime's (a small, maintained crate
//! whose units are those of systemd time spans: `s`/`sec`, `m`/`min`,
//! `h`/`hr`, `d`/`day`, `w`, ...); printing ages is ours. Pure: used by
//! `--older-than`, `--interval` and to print ages.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration {0:?} is empty")]
    Empty(String),
    #[error("duration {0:?}: {1}")]
    Invalid(String, String),
}

/// Parses a duration; a bare number is refused (which unit?) except `0`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty(text.to_string()));
    }
    humantime::parse_duration(s)
        .map_err(|e| DurationError::Invalid(text.to_string(), e.to_string()))
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
        assert_eq!(parse("10min").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse(" 5m ").unwrap(), Duration::from_secs(300));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert!(matches!(parse(""), Err(DurationError::Empty(_))));
        for bad in [
            "10",
            "m",
            "-1s",
            "3x",
            "ten minutes",
            "99999999999999999999s",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, DurationError::Invalid(..)), "{bad}: {err}");
            let text = err.to_string();
            assert!(text.contains(bad) && !text.contains('\n'), "{text}");
        }
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
