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
//!
//! This module owns the format; each command says what it counts, beside
//! its own code (`list::metrics`, `cleanup::metrics`).

use crate::classify::PinState;
use crate::error::{PathContext, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

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

pub(crate) const LAST_SUCCESS: &str = "pinns_last_success_timestamp_seconds";

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
pub(crate) struct Samples(BTreeMap<&'static str, Vec<(String, f64)>>);

impl Samples {
    pub(crate) fn add(&mut self, name: &'static str, labels: &str, value: f64) {
        debug_assert!(METRICS.iter().any(|(n, _)| *n == name), "{name}");
        self.0
            .entry(name)
            .or_default()
            .push((labels.to_string(), value));
    }

    pub(crate) fn render(&self) -> String {
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

pub(crate) fn pins_by_state(
    samples: &mut Samples,
    command: &str,
    states: impl Iterator<Item = PinState>,
) {
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

pub(crate) fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
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
