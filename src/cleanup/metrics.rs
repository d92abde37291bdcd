//! What a sweep's `--metrics-file` counts (the format: `output::metrics`).

use super::{ItemKind, Outcome, Report};
use crate::classify::PinState;
use crate::list::metrics::foreign_entries;
use crate::output::metrics::{pins_by_state, unix, Samples, LAST_SUCCESS};
use std::time::{Duration, SystemTime};

/// What one sweep came to; `report` is `None` when the sweep itself failed
/// (the error is printed by `main`).
pub struct Sweep<'a> {
    pub report: Option<&'a Report>,
    /// The sweep looked at every pin (`--orphans`), so pins by state mean
    /// something.
    pub all_pins: bool,
    pub started: SystemTime,
    pub duration: Duration,
    /// `pinns_last_success_timestamp_seconds` of the file being replaced.
    pub previous_success: Option<f64>,
}

/// The textfile for one sweep.
pub fn sweep_text(sw: &Sweep<'_>) -> String {
    let mut s = Samples::default();
    let c = "command=\"cleanup\"";
    let success = sw.report.is_some_and(|r| !r.any_failed());
    if let Some(r) = sw.report {
        let items = |kind: ItemKind, outcome: Option<Outcome>| {
            r.items
                .iter()
                .filter(|i| i.kind == kind && i.state == Some(PinState::Orphan))
                .filter(|i| outcome.map_or(true, |o| i.outcome == o))
                .count() as f64
        };
        if sw.all_pins {
            let pins = r.items.iter().filter(|i| i.kind == ItemKind::Pin);
            pins_by_state(&mut s, "cleanup", pins.filter_map(|i| i.state));
        }
        let rows = r.items.iter().flat_map(|i| &i.namespaces);
        s.add("pinns_foreign_entries", c, foreign_entries(rows));
        s.add("pinns_orphans_found", "", items(ItemKind::Pin, None));
        s.add(
            "pinns_orphans_removed",
            "",
            items(ItemKind::Pin, Some(Outcome::Removed)),
        );
        s.add(
            "pinns_orphans_failed",
            "",
            items(ItemKind::Pin, Some(Outcome::Failed)),
        );
        s.add("pinns_cgroups_leaked", "", items(ItemKind::Cgroup, None));
        s.add(
            "pinns_cgroups_removed",
            "",
            items(ItemKind::Cgroup, Some(Outcome::Removed)),
        );
        s.add(
            "pinns_cgroups_failed",
            "",
            items(ItemKind::Cgroup, Some(Outcome::Failed)),
        );
        s.add("pinns_sweep_dry_run", "", if r.dry_run { 1.0 } else { 0.0 });
    }
    s.add("pinns_last_run_timestamp_seconds", c, unix(sw.started));
    s.add(
        "pinns_sweep_duration_seconds",
        "",
        sw.duration.as_secs_f64(),
    );
    s.add("pinns_sweep_success", "", if success { 1.0 } else { 0.0 });
    let last = if success {
        Some(unix(sw.started))
    } else {
        sw.previous_success
    };
    if let Some(t) = last {
        s.add(LAST_SUCCESS, "", t);
    }
    s.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::{Item, Summary};
    use crate::output::metrics::previous_success;

    fn item(kind: ItemKind, outcome: Outcome, state: Option<PinState>) -> Item {
        Item {
            kind,
            name: "x".into(),
            outcome,
            reason: String::new(),
            state,
            age_seconds: None,
            pids: Vec::new(),
            namespaces: Vec::new(),
            left_alone: false,
        }
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn a_sweep_counts_by_kind_and_outcome() {
        let o = Some(PinState::Orphan);
        let report = Report {
            items: vec![
                item(ItemKind::Pin, Outcome::Removed, o),
                item(ItemKind::Pin, Outcome::Removed, o),
                item(ItemKind::Pin, Outcome::Failed, o),
                item(ItemKind::Pin, Outcome::Kept, Some(PinState::InUse)),
                item(ItemKind::Cgroup, Outcome::Removed, o),
                item(ItemKind::Cgroup, Outcome::Kept, Some(PinState::InUse)),
            ],
            summary: Summary {
                failed: 1,
                ..Default::default()
            },
            ..Report::default()
        };
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let text = sweep_text(&Sweep {
            report: Some(&report),
            all_pins: true,
            started,
            duration: Duration::from_millis(1500),
            previous_success: Some(900.0),
        });
        assert_eq!(value(&text, "pinns_orphans_found"), Some(3.0));
        assert_eq!(value(&text, "pinns_orphans_removed"), Some(2.0));
        assert_eq!(value(&text, "pinns_orphans_failed"), Some(1.0));
        assert_eq!(value(&text, "pinns_cgroups_leaked"), Some(1.0));
        assert_eq!(value(&text, "pinns_cgroups_removed"), Some(1.0));
        assert_eq!(
            value(&text, "pinns_pins{command=\"cleanup\",state=\"orphan\"}"),
            Some(3.0)
        );
        assert_eq!(
            value(&text, "pinns_pins{command=\"cleanup\",state=\"in-use\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&text, "pinns_pins{command=\"cleanup\",state=\"broken\"}"),
            Some(0.0)
        );
        assert_eq!(value(&text, "pinns_sweep_duration_seconds"), Some(1.5));
        // A failed sweep keeps the previous success time.
        assert_eq!(value(&text, "pinns_sweep_success"), Some(0.0));
        assert_eq!(previous_success(&text), Some(900.0));
    }

    #[test]
    fn success_time_is_this_sweep_or_carried_over() {
        let ok = Report::default();
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(2000);
        let sweep = |report, previous_success| {
            sweep_text(&Sweep {
                report,
                all_pins: false,
                started,
                duration: Duration::ZERO,
                previous_success,
            })
        };
        let text = sweep(Some(&ok), Some(5.0));
        assert_eq!(previous_success(&text), Some(2000.0));
        assert!(
            !text.contains("pinns_pins"),
            "no pin states without --orphans"
        );
        let text = sweep(None, Some(5.0));
        assert_eq!(previous_success(&text), Some(5.0));
        assert_eq!(value(&text, "pinns_sweep_success"), Some(0.0));
        let text = sweep(None, None);
        assert_eq!(previous_success(&text), None);
    }

    #[test]
    fn every_family_has_help_and_type_first() {
        let text = sweep_text(&Sweep {
            report: Some(&Report::default()),
            all_pins: true,
            started: SystemTime::now(),
            duration: Duration::ZERO,
            previous_success: None,
        });
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{text}");
            }
        }
    }
}
