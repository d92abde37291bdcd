//! `--metrics-file PATH`: the figures of the last `list` or sweep, as a
//! node_exporter textfile (Prometheus text format), so that leaks are seen
//! growing long before they cost a node: the field failure this guards
//! against (Kubernetes issue 106957) took 10 to 14 cores of kubelet because
//! leftovers of deleted pods piled up unseen.
//!
//! The file is replaced atomically: written to a temporary file in the same
//! directory (a name starting with `.`, not ending in `.prom`, which the
//! textfile collector ignores), made 0644, then renamed over PATH, so a
//! scrape never reads half a file. Every value is a gauge of the last run;
//! families shared by `list` and `cleanup` carry a `command` label, so both
//! can write their own file in one collector directory without clashing.
//! `pinns_last_success_timestamp_seconds` survives a failed sweep: it is read
//! back from the file being replaced.

use crate::classify::PinState;
use crate::cleanup::{ItemKind, Outcome, Report};
use crate::error::{PathContext, Result};
use crate::list::Listing;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Every metric: name and help. One table, so both commands describe a
/// family in the same words (the collector refuses differing help texts).
const METRICS: &[(&str, &str)] = &[
    (
        "pinns_pins",
        "Pins by state, as judged by the last run of the command.",
    ),
    (
        "pinns_foreign_entries",
        "Pin paths holding something pinns did not put there (never removed).",
    ),
    (
        "pinns_last_run_timestamp_seconds",
        "Unix time of the last run of the command.",
    ),
    (
        "pinns_orphans_found",
        "Orphaned pins found by the last sweep.",
    ),
    (
        "pinns_orphans_removed",
        "Orphaned pins removed by the last sweep.",
    ),
    (
        "pinns_orphans_failed",
        "Orphaned pins the last sweep failed to remove.",
    ),
    (
        "pinns_cgroups_leaked",
        "Empty leaked cgroups found by the last sweep.",
    ),
    (
        "pinns_cgroups_removed",
        "Leaked cgroups removed by the last sweep.",
    ),
    (
        "pinns_cgroups_failed",
        "Leaked cgroups the last sweep failed to remove.",
    ),
    (
        "pinns_sweep_duration_seconds",
        "How long the last sweep took.",
    ),
    (
        "pinns_sweep_dry_run",
        "1 if the last sweep was a dry run (removing nothing).",
    ),
    (
        "pinns_sweep_success",
        "1 if the last sweep ran and every item succeeded, else 0.",
    ),
    (
        "pinns_last_success_timestamp_seconds",
        "Unix time of the last successful sweep.",
    ),
];

const LAST_SUCCESS: &str = "pinns_last_success_timestamp_seconds";

/// The states every file lists, even at zero, so a rate or a comparison
/// never meets a missing series.
const STATES: [PinState; 5] = [
    PinState::InUse,
    PinState::Idle,
    PinState::Orphan,
    PinState::Broken,
    PinState::Foreign,
];

/// Samples of one file, by metric name, each with its labels.
#[derive(Debug, Default)]
struct Samples(BTreeMap<&'static str, Vec<(String, f64)>>);

impl Samples {
    fn add(&mut self, name: &'static str, labels: &str, value: f64) {
        debug_assert!(METRICS.iter().any(|(n, _)| *n == name), "{name}");
        self.0
            .entry(name)
            .or_default()
            .push((labels.to_string(), value));
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (name, help) in METRICS {
            let Some(samples) = self.0.get(name) else {
                continue;
            };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, value) in samples {
                let labels = if labels.is_empty() {
                    String::new()
                } else {
                    format!("{{{labels}}}")
                };
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
        out
    }
}

fn state_name(state: PinState) -> String {
    // The JSON names (`in-use`), which are label-friendly.
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| state.to_string())
}

fn pins_by_state(samples: &mut Samples, command: &str, states: impl Iterator<Item = PinState>) {
    let mut counts: BTreeMap<String, usize> = STATES.iter().map(|s| (state_name(*s), 0)).collect();
    for state in states {
        *counts.entry(state_name(state)).or_default() += 1;
    }
    for (state, n) in counts {
        samples.add(
            "pinns_pins",
            &format!("command=\"{command}\",state=\"{state}\""),
            n as f64,
        );
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
}

/// The textfile for a `list` run.
pub fn list_text(l: &Listing, now: SystemTime) -> String {
    let mut s = Samples::default();
    pins_by_state(&mut s, "list", l.pins.iter().map(|r| r.state));
    let foreign = l
        .pins
        .iter()
        .flat_map(|r| &r.namespaces)
        .filter(|n| n.content == "broken")
        .count();
    s.add("pinns_foreign_entries", "command=\"list\"", foreign as f64);
    s.add(
        "pinns_last_run_timestamp_seconds",
        "command=\"list\"",
        unix(now),
    );
    s.render()
}

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
        let foreign = r
            .items
            .iter()
            .flat_map(|i| &i.namespaces)
            .filter(|n| n.content == "broken")
            .count();
        s.add("pinns_foreign_entries", c, foreign as f64);
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

/// `pinns_last_success_timestamp_seconds` in a textfile we wrote before.
pub fn previous_success(text: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(LAST_SUCCESS)?.strip_prefix(' '))
        .find_map(|v| v.trim().parse().ok())
}

/// Reads the last success time from the file about to be replaced.
pub fn read_previous_success(path: &Path) -> Option<f64> {
    previous_success(&std::fs::read_to_string(path).ok()?)
}

/// Replaces `path` with `text` atomically (see the module docs).
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path.file_name().unwrap_or(path.as_os_str());
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o644)
            .open(&tmp)
            .at("create metrics file", &tmp)?;
        // The umask may have taken bits the collector's user needs.
        f.set_permissions(std::fs::Permissions::from_mode(0o644))
            .at("chmod metrics file", &tmp)?;
        f.write_all(text.as_bytes())
            .at("write metrics file", &tmp)?;
        f.sync_all().at("sync metrics file", &tmp)?;
        std::fs::rename(&tmp, path).at("rename metrics file onto", path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::Item;

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
            summary: crate::cleanup::Summary {
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
