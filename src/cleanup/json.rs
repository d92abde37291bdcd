//! `pinns cleanup --json`, made of the blocks in [`crate::output::json`].

use super::{ItemKind, Outcome, Report, Summary};
use crate::classify::PinState;
use crate::list::json::namespaces;
use crate::output::json::{path_text, pids, text, unix_seconds, Namespace, Process, SCHEMA};
use serde::Serialize;
use std::path::Path;

/// One pin or cgroup a sweep looked at.
#[derive(Debug, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// Pin name, or the cgroup's path.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    pub outcome: Outcome,
    pub state: Option<PinState>,
    pub reason: String,
    pub age_seconds: Option<u64>,
    /// Pins only (null for a cgroup).
    pub process_count: Option<usize>,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
}

/// When a sweep ran and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub started: std::time::SystemTime,
    pub duration: std::time::Duration,
}

/// `pinns cleanup --json`: one per sweep.
#[derive(Debug, Serialize)]
pub struct CleanupDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub dry_run: bool,
    /// Unix time, whole seconds.
    pub started_at: u64,
    pub duration_seconds: f64,
    pub items: Vec<Item>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub summary: Summary,
}

pub fn cleanup_doc(r: &Report, timing: Timing) -> CleanupDoc {
    let (dir, dir_hex) = match &r.dir {
        Some(d) => {
            let (t, h) = path_text(d);
            (Some(t), h)
        }
        None => (None, None),
    };
    CleanupDoc {
        schema: SCHEMA,
        command: "cleanup",
        dir,
        dir_hex,
        dry_run: r.dry_run,
        started_at: unix_seconds(timing.started),
        duration_seconds: timing.duration.as_secs_f64(),
        items: r.items.iter().map(|i| item(r.dir.as_deref(), i)).collect(),
        notes: r.notes.clone(),
        warnings: r.warnings.clone(),
        summary: r.summary.clone(),
    }
}

fn item(dir: Option<&Path>, i: &super::Item) -> Item {
    let (name, name_hex) = text(&i.name);
    let pin = i.kind == ItemKind::Pin;
    Item {
        kind: i.kind,
        namespaces: namespaces(dir, &name, &i.namespaces),
        name,
        name_hex,
        outcome: i.outcome,
        state: i.state,
        reason: i.reason.clone(),
        age_seconds: i.age_seconds,
        process_count: pin.then_some(i.pids.len()),
        processes: pids(&i.pids),
    }
}
