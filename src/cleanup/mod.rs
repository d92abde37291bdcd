//! `pinns cleanup`: remove one pod's pins (`-f NAME`), sweep orphaned pins
//! (`--orphans`) and empty leaked cgroups (`--cgroups ROOT`, in [`cgroups`]).
//! What was done is a [`Report`].
//!
//! Safety rules for pins, in the order they are applied:
//! - Nothing below DIR is reached through a symlink: every path is opened
//!   relative to an already opened directory, without following.
//! - Only nsfs mounts are unmounted, and only empty plain files on DIR's own
//!   filesystem are deleted. A non-empty file, a foreign mount, a symlink or
//!   a directory at a pin path is reported and left alone.
//! - A pin is removed whole or not at all. Each pin name is looked at
//!   afresh, in all its types, under the same `flock` on DIR that `pin`
//!   holds while it checks and mounts; a sweep leaves the whole pin alone
//!   if that look is not exactly what the sweep judged (the same types, the
//!   same namespace inodes, the same files), and `-f NAME` removes all of it.
//!   A pod pinned during a sweep is therefore never removed, nor half
//!   removed: it was not in the snapshot, or it is not what was judged.
//! - Orphans are chosen from one `/proc` scan and confirmed by a second scan
//!   just before removal: two scans per sweep whatever the number of pins.

mod cgroups;
pub mod json;
pub mod metrics;
mod report;

pub use report::{Item, ItemKind, Outcome, Report, Summary};

use crate::classify::{OrphanRules, PinState};
use crate::duration;
use crate::error::{Error, Result};
use crate::escape::Text;
use crate::keep::{Guard, KeepSet, RuntimeSource};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::inventory::{Entry, Inventory, Pin};
use crate::pindir::Content;
use crate::procs::NsIndex;
use crate::sys;
use cgroups::CgroupSweep;
use nix::errno::Errno;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What one sweep does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: Option<PathBuf>,
    pub name: Option<PinName>,
    pub orphans: bool,
    pub cgroup_roots: Vec<PathBuf>,
    pub rules: OrphanRules,
    pub keep: KeepSet,
    /// Asked, after the pin directory is read and before anything is
    /// removed, whenever the plan sweeps (`--orphans`, `--cgroups`).
    pub runtime: RuntimeSource,
    pub dry_run: bool,
}

/// Refuses a plan that cannot be carried out, before anything is touched.
pub fn preflight(plan: &Plan) -> Result<()> {
    if plan.name.is_none() && !plan.orphans && plan.cgroup_roots.is_empty() {
        return Err(Error::Usage(
            "nothing to clean: give -f NAME, --orphans or --cgroups ROOT".into(),
        ));
    }
    for root in &plan.cgroup_roots {
        cgroups::hierarchies(root)?;
    }
    Ok(())
}

/// One sweep: everything the plan asks for, each item on its own, so one
/// failure never stops the others. The runtime is asked after the pin
/// directory is read (a pin seen by the scan whose sandbox the runtime has
/// registered by then is protected) and before anything is removed (when it
/// cannot be asked, the sweep fails having removed nothing).
pub fn sweep(plan: &Plan) -> Result<Report> {
    let mut report = Report {
        dry_run: plan.dry_run,
        ..Report::default()
    };
    let sweeps = plan.orphans || !plan.cgroup_roots.is_empty();
    let mut guard = None;
    let ask = || -> Result<Guard> {
        Ok(Guard {
            keep: plan.keep.clone(),
            runtime: plan.runtime.ask()?,
        })
    };
    if plan.name.is_some() || plan.orphans {
        let dir = plan
            .dir
            .as_deref()
            .ok_or_else(|| Error::Usage("-f NAME and --orphans need -d DIR".into()))?;
        match Inventory::open(dir)? {
            None if plan.orphans => {
                return Err(Error::path("open directory", dir, Errno::ENOENT));
            }
            None => {
                if let Some(name) = &plan.name {
                    report.notes.push(format!(
                        "nothing to remove for {name}: {} does not exist",
                        dir.display()
                    ));
                }
            }
            Some(mut pins) => {
                report.dir = Some(pins.path().to_path_buf());
                // `-f NAME` alone looks at its pin under the lock only.
                if plan.orphans {
                    pins.scan()?;
                }
                report.warnings.append(&mut pins.warnings);
                if sweeps {
                    guard = Some(ask()?);
                }
                if let Some(name) = &plan.name {
                    remove_named(&mut pins, name, plan.dry_run, &mut report);
                }
                if let (true, Some(guard)) = (plan.orphans, &guard) {
                    sweep_orphans(&mut pins, plan, guard, &mut report);
                }
            }
        }
    }
    if !plan.cgroup_roots.is_empty() {
        let guard = match guard {
            Some(g) => g,
            None => ask()?,
        };
        let cgroups = CgroupSweep {
            guard: &guard,
            older_than: plan.rules.older_than,
            dry_run: plan.dry_run,
        };
        for root in &plan.cgroup_roots {
            cgroups.sweep_root(root, &mut report);
        }
    }
    Ok(report)
}

fn pin_item(pin: &Pin, outcome: Outcome, reason: impl Into<String>) -> Item {
    Item {
        kind: ItemKind::Pin,
        name: Text::from(pin.name.as_str()),
        outcome,
        reason: reason.into(),
        state: None,
        age_seconds: pin.age(SystemTime::now()).map(|a| a.as_secs()),
        pids: Vec::new(),
        namespaces: crate::list::path_rows(pin),
        left_alone: false,
    }
}

/// `-f NAME`: the pod is being torn down; whatever of it is ours goes,
/// whoever still lives in it.
fn remove_named(dir: &mut Inventory, name: &PinName, dry_run: bool, report: &mut Report) {
    let nothing = |dir: &Inventory| {
        format!(
            "nothing to remove for {name} under {}",
            dir.path().display()
        )
    };
    let failed = |e: Error| {
        let unseen = Pin {
            name: name.clone(),
            entries: Vec::new(),
        };
        pin_item(&unseen, Outcome::Failed, e.to_string())
    };
    if dry_run {
        match dir.look_again(name) {
            Ok(Some(pin)) => report.push(pin_item(&pin, Outcome::WouldRemove, "asked for by name")),
            Ok(None) => report.notes.push(nothing(dir)),
            Err(e) => report.push(failed(e)),
        }
        return;
    }
    match remove_pin(dir, name, None) {
        Ok(Removal::Removed(pin)) => {
            report.push(pin_item(&pin, Outcome::Removed, "asked for by name"))
        }
        Ok(Removal::Gone) => report.notes.push(nothing(dir)),
        Ok(Removal::LeftAlone(pin, notes)) => {
            report.push(pin_item(&pin, Outcome::Failed, notes.join("; ")))
        }
        Err(e) => report.push(failed(e)),
    }
}

fn sweep_orphans(dir: &mut Inventory, plan: &Plan, guard: &Guard, report: &mut Report) {
    let first = NsIndex::scan_kinds(&crate::list::own_kinds(dir.pins.values()));
    let now = SystemTime::now();
    let mut candidates = Vec::new();
    let pins: Vec<Pin> = dir.pins.values().cloned().collect();
    for pin in &pins {
        if plan.name.as_ref() == Some(&pin.name) {
            continue; // handled by -f NAME
        }
        let facts = guard.facts(pin, &first, now);
        let pids = || pin.processes(&first);
        match crate::classify::classify_pin(&facts, &plan.rules) {
            PinState::Orphan => candidates.push(pin),
            PinState::Broken => report.push(
                pin_item(pin, Outcome::Kept, broken_reason(dir, pin))
                    .judged(PinState::Broken, pids()),
            ),
            state => report.push(
                pin_item(pin, Outcome::Kept, kept_reason(state, &facts)).judged(state, pids()),
            ),
        }
    }
    if candidates.is_empty() {
        return;
    }
    // A process may have joined since the first scan (a container started in
    // an idle pod): confirm with a fresh scan, once for all candidates.
    let second = NsIndex::scan_kinds(&crate::list::own_kinds(candidates.iter().copied()));
    for pin in candidates {
        let pids = pin.processes(&second);
        let procs = pids.len();
        let age = pin.age(now).map(duration::format).unwrap_or_default();
        let item = if procs > 0 {
            pin_item(
                pin,
                Outcome::Kept,
                format!("in use: {procs} process(es) joined during the sweep"),
            )
            .judged(PinState::InUse, pids)
        } else if plan.dry_run {
            pin_item(
                pin,
                Outcome::WouldRemove,
                format!("orphan: no process, {age} old"),
            )
        } else {
            match remove_pin(dir, &pin.name, Some(pin)) {
                Ok(Removal::Removed(_)) => pin_item(
                    pin,
                    Outcome::Removed,
                    format!("orphan: no process, {age} old"),
                ),
                Ok(Removal::Gone) => pin_item(pin, Outcome::Kept, "gone during the sweep"),
                Ok(Removal::LeftAlone(_, notes)) => Item {
                    left_alone: true,
                    ..pin_item(pin, Outcome::Kept, notes.join("; "))
                },
                Err(e) => pin_item(pin, Outcome::Failed, e.to_string()),
            }
        };
        // Whatever became of it, it was judged an orphan (unless it was in use).
        let item = match item.state {
            Some(_) => item,
            None => item.judged(PinState::Orphan, Vec::new()),
        };
        report.push(item);
    }
}

fn broken_reason(dir: &Inventory, pin: &Pin) -> String {
    let what: Vec<String> = pin
        .entries
        .iter()
        .filter_map(|e| {
            let problem = e.content.problem()?;
            Some(format!(
                "{} is {}",
                dir.pin_path(e.kind, &pin.name).display(),
                problem.words()
            ))
        })
        .collect();
    format!("broken: {}; left alone", what.join(", "))
}

fn kept_reason(state: PinState, facts: &crate::classify::PinFacts) -> String {
    use crate::classify::RuntimeSays;
    match state {
        PinState::Foreign => format!(
            "foreign: {}; never swept (cleanup -f NAME removes it)",
            facts.foreign.unwrap_or("not a CRI-O pin")
        ),
        PinState::InUse => format!("in use: {} process(es)", facts.processes),
        PinState::Broken => {
            "broken: a pin path holds something that is not ours; left alone".into()
        }
        PinState::Idle if facts.kept => "idle: in the keep set".into(),
        PinState::Idle if facts.runtime == RuntimeSays::Known => {
            "idle: a sandbox the runtime knows uses it".into()
        }
        PinState::Idle if facts.runtime == RuntimeSays::NotAsked => {
            "idle: the runtime could not be asked".into()
        }
        PinState::Idle if facts.age.is_none() => "idle: age unknown".into(),
        PinState::Idle if facts.own_namespaces == 0 && facts.host_namespaces > 0 => {
            "idle: host namespaces only".into()
        }
        PinState::Idle => format!(
            "idle: younger than the threshold ({})",
            facts.age.map(duration::format).unwrap_or_default()
        ),
        PinState::Orphan => "orphan".into(),
    }
}

/// What a removal under the lock did.
enum Removal {
    /// Every path of the pin, as found under the lock, is gone.
    Removed(Pin),
    /// Nothing was there any more.
    Gone,
    /// Some paths, or (for a sweep) all of them, were left, for these reasons.
    LeftAlone(Pin, Vec<String>),
}

/// Removes a pin whole, under DIR's lock, from a fresh look at all its
/// types. With `seen` (a sweep), the pin is removed only if that look is
/// exactly what was judged, else it is left entirely alone. Errors are
/// failures (the pin may then be partly removed, and is reported failed).
fn remove_pin(dir: &mut Inventory, name: &PinName, seen: Option<&Pin>) -> Result<Removal> {
    let _lock = dir.dir.lock_again()?;
    dir.open_new_types()?;
    let Some(now) = dir.look_again(name)? else {
        return Ok(Removal::Gone);
    };
    if let Some(seen) = seen {
        if !same_pin(dir, seen, &now) {
            let note = format!("{name} changed during the sweep; left alone");
            return Ok(Removal::LeftAlone(now, vec![note]));
        }
    }
    let mut notes = Vec::new();
    for entry in removal_order(&now) {
        let Some(td) = dir.type_dir(entry.kind) else {
            continue;
        };
        if let Some(problem) = td.remove_pin(name)? {
            notes.push(format!(
                "broken: {} is {}; left alone",
                td.pin_path(name).display(),
                problem.words()
            ));
        }
    }
    Ok(match notes.is_empty() {
        true => Removal::Removed(now),
        false => Removal::LeftAlone(now, notes),
    })
}

/// The same types holding the same namespaces and the same untouched files.
fn same_pin(dir: &Inventory, seen: &Pin, now: &Pin) -> bool {
    seen.entries.len() == now.entries.len()
        && seen.entries.iter().zip(&now.entries).all(|(s, n)| {
            s.kind == n.kind
                && same_content(s, &n.content)
                && dir
                    .type_dir(s.kind)
                    .is_some_and(|td| same_mtime(td.fd(), Path::new(seen.name.as_str()), s))
        })
}

/// The netns entry first: a removal that fails half way then never leaves a
/// pin in DIR/netns alone, which is the shape of another tool's `ip netns`
/// namespace (`classify::not_crio_pin`) and would never be swept again.
fn removal_order(pin: &Pin) -> Vec<&Entry> {
    let mut order: Vec<&Entry> = pin.entries.iter().collect();
    order.sort_by_key(|e| e.kind != NsKind::Net);
    order
}

/// A leftover file that was touched since the scan (a runtime preparing to
/// pin onto it) is no longer the old file the sweep judged.
fn same_mtime(type_dir: BorrowedFd<'_>, name: &Path, seen: &Entry) -> bool {
    if !matches!(seen.content, Content::Leftover { .. }) {
        return true; // a namespace is identified by its inode alone
    }
    let now = sys::files::stat_at_nofollow(type_dir, Path::new(""), name)
        .ok()
        .and_then(|st| sys::files::mtime(&st));
    now.is_some() && now == seen.mtime
}

fn same_content(seen: &Entry, now: &Content) -> bool {
    match (&seen.content, now) {
        (Content::Namespace { inode: a, .. }, Content::Namespace { inode: b, .. }) => a == b,
        (Content::Leftover { inode: a }, Content::Leftover { inode: b }) => a == b,
        _ => false,
    }
}
