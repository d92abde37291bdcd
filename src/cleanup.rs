//! `pinns cleanup`: remove one pod's pins (`-f NAME`), sweep orphaned pins
//! (`--orphans`) and empty leaked cgroups (`--cgroups ROOT`).
//!
//! Safety rules, in the order they are applied:
//! - Nothing below DIR or ROOT is reached through a symlink: every path is
//!   opened relative to an already opened directory, without following.
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
//! - Cgroups are removed with `rmdir`, which the kernel refuses for a cgroup
//!   that has processes or children, so a process joining one mid-sweep
//!   keeps it alive.

use crate::classify::{ids_in_cgroup_name, OrphanRules, PinState};
use crate::duration;
use crate::error::{Error, PathContext, Result};
use crate::escape::{self, Text};
use crate::keep::{Guard, KeepSet, RuntimeSource};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::pindir::inventory::{Entry, Inventory, Pin};
use crate::pindir::Content;
use crate::procs::NsIndex;
use crate::sys;
use nix::errno::Errno;
use serde::Serialize;
use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Removed,
    WouldRemove,
    Kept,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    Pin,
    Cgroup,
}

/// One pin name or one cgroup directory the sweep looked at.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// Pin name, or the cgroup's path (as the filesystem has it).
    pub name: Text,
    pub outcome: Outcome,
    pub reason: String,
    /// How the sweep judged it; `None` for `-f NAME` (removed whatever it is).
    pub state: Option<PinState>,
    pub age_seconds: Option<u64>,
    /// Processes found in the pod's own namespaces (pins only).
    pub pids: Vec<i32>,
    /// What each path of the pin held (pins only).
    pub namespaces: Vec<crate::list::PathRow>,
}

impl Item {
    /// Records the state the item was judged to be in, and the processes seen.
    fn judged(self, state: PinState, pids: Vec<i32>) -> Item {
        Item {
            state: Some(state),
            pids,
            ..self
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub found: usize,
    pub removed: usize,
    pub would_remove: usize,
    pub kept: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The pin directory swept, if any.
    pub dir: Option<PathBuf>,
    pub dry_run: bool,
    pub items: Vec<Item>,
    /// Plain statements, such as "nothing to remove for NAME".
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub summary: Summary,
}

impl Report {
    fn push(&mut self, item: Item) {
        match item.outcome {
            Outcome::Removed => self.summary.removed += 1,
            Outcome::WouldRemove => self.summary.would_remove += 1,
            Outcome::Kept => self.summary.kept += 1,
            Outcome::Failed => self.summary.failed += 1,
        }
        self.summary.found += 1;
        self.items.push(item);
    }

    pub fn any_failed(&self) -> bool {
        self.summary.failed > 0
    }

    /// The human form: one line per removal, failure or broken pin, then the
    /// summary line. Pins and cgroups kept because they are alive are only
    /// counted (a node has thousands).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            out.push_str(&format!("warning: {}\n", escape::one_line(w)));
        }
        for n in &self.notes {
            out.push_str(&format!("{}\n", escape::one_line(n)));
        }
        for item in &self.items {
            let verb = match item.outcome {
                Outcome::Removed => "removed",
                Outcome::WouldRemove => "would remove",
                Outcome::Failed => "failed",
                // Reported, since they are never removed: things not ours.
                Outcome::Kept
                    if item.reason.starts_with("broken") || item.reason.starts_with("foreign") =>
                {
                    "kept"
                }
                Outcome::Kept => continue,
            };
            let kind = match item.kind {
                ItemKind::Pin => "pin",
                ItemKind::Cgroup => "cgroup",
            };
            let types = if item.namespaces.is_empty() {
                String::new()
            } else {
                let kinds: Vec<&str> = item.namespaces.iter().map(|n| n.kind.as_str()).collect();
                format!(" ({})", kinds.join(","))
            };
            // The name is escaped by `Text`; reasons may quote paths.
            out.push_str(&format!(
                "{verb} {kind} {}{types}: {}\n",
                item.name,
                escape::one_line(&item.reason)
            ));
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        if self.dry_run {
            format!(
                "cleanup (dry run): found {}, would remove {}, kept {}, failed {}",
                s.found, s.would_remove, s.kept, s.failed
            )
        } else {
            format!(
                "cleanup: found {}, removed {}, kept {}, failed {}",
                s.found, s.removed, s.kept, s.failed
            )
        }
    }
}

/// Refuses a plan that cannot be carried out, before anything is touched.
pub fn preflight(plan: &Plan) -> Result<()> {
    if plan.name.is_none() && !plan.orphans && plan.cgroup_roots.is_empty() {
        return Err(Error::Usage(
            "nothing to clean: give -f NAME, --orphans or --cgroups ROOT".into(),
        ));
    }
    for root in &plan.cgroup_roots {
        cgroup_hierarchies(root)?;
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
        for root in &plan.cgroup_roots {
            sweep_cgroup_root(root, plan, &guard, &mut report);
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
                Ok(Removal::LeftAlone(_, notes)) => pin_item(pin, Outcome::Kept, notes.join("; ")),
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
    let now = sys::stat_at_nofollow(type_dir, name).ok().and_then(|st| {
        let since = std::time::Duration::new(
            u64::try_from(st.st_mtime).ok()?,
            u32::try_from(st.st_mtime_nsec).ok()?,
        );
        SystemTime::UNIX_EPOCH.checked_add(since)
    });
    now.is_some() && now == seen.mtime
}

fn same_content(seen: &Entry, now: &Content) -> bool {
    match (&seen.content, now) {
        (Content::Namespace { inode: a, .. }, Content::Namespace { inode: b, .. }) => a == b,
        (Content::Leftover { inode: a }, Content::Leftover { inode: b }) => a == b,
        _ => false,
    }
}

fn open_cgroup_root(root: &Path) -> Result<OwnedFd> {
    let fd = sys::open_dir_at(None, &root.join(".")).at("open cgroup root", root)?;
    match sys::cgroup_version(fd.as_fd()).at("statfs", root)? {
        Some(_) => Ok(fd),
        None => Err(Error::Refused(format!(
            "{} is not on a cgroup filesystem; refusing to remove anything there",
            root.display()
        ))),
    }
}

/// The cgroup hierarchies a `--cgroups ROOT` stands for: ROOT itself when it
/// is on a cgroup filesystem (a v2 node's /sys/fs/cgroup, one v1 controller,
/// a subtree); else every cgroup or cgroup2 mount below it (a v1 or hybrid
/// node's /sys/fs/cgroup is a tmpfs holding one mount per controller, plus
/// `unified` on hybrid), each hierarchy once.
fn cgroup_hierarchies(root: &Path) -> Result<Vec<PathBuf>> {
    let fd = sys::open_dir_at(None, &root.join(".")).at("open cgroup root", root)?;
    if sys::cgroup_version(fd.as_fd())
        .at("statfs", root)?
        .is_some()
    {
        return Ok(vec![root.to_path_buf()]);
    }
    let abs = std::path::absolute(root).at("resolve", root)?;
    let mounts = sys::mountinfo::read_own()
        .map_err(|e| Error::Refused(format!("read /proc/self/mountinfo: {e}")))?;
    let mut found = Vec::new();
    let mut devices = HashSet::new();
    for m in cgroup_mounts_below(&mounts, &abs) {
        // The same hierarchy mounted twice is swept once.
        let dev = std::fs::metadata(&m).map(|md| std::os::unix::fs::MetadataExt::dev(&md));
        if dev.is_ok_and(|d| devices.insert(d)) {
            found.push(m);
        }
    }
    if found.is_empty() {
        return Err(Error::Refused(format!(
            "{} is not on a cgroup filesystem and holds no cgroup hierarchy; \
refusing to remove anything there",
            root.display()
        )));
    }
    Ok(found)
}

/// Mount points of cgroup filesystems strictly below `root`, in mount order.
fn cgroup_mounts_below(mounts: &[sys::mountinfo::MountEntry], root: &Path) -> Vec<PathBuf> {
    mounts
        .iter()
        .filter(|m| matches!(m.fs_type.as_str(), "cgroup" | "cgroup2"))
        .filter(|m| m.mount_point != root && m.mount_point.starts_with(root))
        .map(|m| m.mount_point.clone())
        .collect()
}

/// Sweeps every hierarchy of one `--cgroups ROOT`; a hierarchy that cannot
/// be opened is one failed item, and the others are still swept.
fn sweep_cgroup_root(root: &Path, plan: &Plan, guard: &Guard, report: &mut Report) {
    let failed = |report: &mut Report, path: &Path, e: Error| {
        report.push(Item {
            kind: ItemKind::Cgroup,
            name: Text::from(path.as_os_str().as_bytes()),
            outcome: Outcome::Failed,
            reason: e.to_string(),
            state: None,
            age_seconds: None,
            pids: Vec::new(),
            namespaces: Vec::new(),
        })
    };
    match cgroup_hierarchies(root) {
        Ok(hierarchies) => {
            for h in hierarchies {
                if let Err(e) = sweep_cgroups(&h, plan, guard, report) {
                    failed(report, &h, e);
                }
            }
        }
        Err(e) => failed(report, root, e),
    }
}

/// Removes empty leaked cgroups below one hierarchy's ROOT, leaf first,
/// never ROOT itself.
fn sweep_cgroups(root: &Path, plan: &Plan, guard: &Guard, report: &mut Report) -> Result<()> {
    let fd = open_cgroup_root(root)?;
    let dev = sys::stat_fd(fd.as_fd()).at("stat", root)?.st_dev;
    let walk = CgroupWalk { plan, guard, dev };
    walk.visit(fd.as_fd(), root, report);
    Ok(())
}

/// A cgroup met by the walk, with what was learnt about it.
#[derive(Clone, Copy)]
struct Found<'a> {
    parent: BorrowedFd<'a>,
    cgroup: BorrowedFd<'a>,
    name: &'a Path,
    path: &'a Path,
    /// Children still there (or that would be, in a dry run).
    children: usize,
    /// From the directory's mtime before its children were visited.
    age: Option<std::time::Duration>,
}

struct CgroupWalk<'a> {
    plan: &'a Plan,
    guard: &'a Guard,
    dev: u64,
}

impl CgroupWalk<'_> {
    /// Visits the children of `dir`; returns how many are still there (or
    /// would be, in a dry run).
    fn visit(&self, dir: BorrowedFd<'_>, path: &Path, report: &mut Report) -> usize {
        let entries = match std::fs::read_dir(sys::fd_path(dir)) {
            Ok(entries) => entries,
            Err(e) => {
                report
                    .warnings
                    .push(format!("read {}: {e}", path.display()));
                return usize::MAX; // unknown: never treat it as empty
            }
        };
        let mut remaining = 0;
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue; // control files; a symlink is never followed
            }
            let name = PathBuf::from(entry.file_name());
            let child_path = path.join(&name);
            let child = match sys::open_dir_at(Some(dir), &name) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => continue,
                Err(_) => {
                    remaining += 1;
                    continue;
                }
            };
            // The age is read before the children are visited: removing a
            // child updates its parent's mtime, and the parent would look
            // young to a leaf-first sweep.
            let st = sys::stat_fd(child.as_fd()).ok();
            let age = st.as_ref().and_then(|st| mtime_age(st.st_mtime));
            let same_fs = st.is_some_and(|st| st.st_dev == self.dev);
            let grandchildren = if same_fs {
                self.visit(child.as_fd(), &child_path, report)
            } else {
                usize::MAX
            };
            let found = Found {
                parent: dir,
                cgroup: child.as_fd(),
                name: &name,
                path: &child_path,
                children: grandchildren,
                age,
            };
            if !self.consider(&found, report) {
                remaining += 1;
            }
        }
        remaining
    }

    /// Decides on one cgroup whose children were already visited; returns
    /// whether it is (or would be) gone.
    fn consider(&self, found: &Found<'_>, report: &mut Report) -> bool {
        let Found {
            parent,
            cgroup,
            name,
            path,
            children,
            age,
        } = *found;
        let ids = ids_in_cgroup_name(&name.to_string_lossy());
        if ids.is_empty() {
            return false; // not a pod's or a container's: not ours to judge
        }
        // A cgroup is judged in the words of a pin: `in-use` (processes or
        // children), `idle` (kept, young, age unknown) or `orphan` (leaked).
        let item = |outcome, state, reason: String| Item {
            kind: ItemKind::Cgroup,
            name: Text::from(path.as_os_str().as_bytes()),
            outcome,
            reason,
            state: Some(state),
            age_seconds: age.map(|a| a.as_secs()),
            pids: Vec::new(),
            namespaces: Vec::new(),
        };
        let kept = |state, reason: &str| item(Outcome::Kept, state, reason.to_string());
        let verdict = if let Some(why) = self.guard.keeps_cgroup(&ids) {
            Err(kept(PinState::Idle, why))
        } else if children > 0 {
            Err(kept(PinState::InUse, "has child cgroups"))
        } else if !cgroup_is_empty(cgroup) {
            Err(kept(PinState::InUse, "has processes"))
        } else {
            match age {
                Some(age) if age >= self.plan.rules.older_than => Ok(age),
                Some(age) => Err(kept(
                    PinState::Idle,
                    &format!("younger than the threshold ({})", duration::format(age)),
                )),
                None => Err(kept(PinState::Idle, "age unknown")),
            }
        };
        let age = match verdict {
            Err(kept) => {
                report.push(kept);
                return false;
            }
            Ok(age) => duration::format(age),
        };
        let reason = format!("empty, {age} old, not kept");
        if self.plan.dry_run {
            report.push(item(Outcome::WouldRemove, PinState::Orphan, reason));
            return true;
        }
        match sys::rmdir_at(parent, name) {
            Ok(()) => {
                report.push(item(Outcome::Removed, PinState::Orphan, reason));
                true
            }
            // The kernel refused: a process or a child cgroup arrived.
            Err(Errno::EBUSY | Errno::ENOTEMPTY) => {
                report.push(kept(PinState::InUse, "became busy during the sweep"));
                false
            }
            Err(e) => {
                report.push(item(
                    Outcome::Failed,
                    PinState::Orphan,
                    format!("rmdir: {e}"),
                ));
                false
            }
        }
    }
}

/// No process and no thread in the cgroup (v1 and v2 both have
/// `cgroup.procs`; v2 threaded cgroups list threads in `cgroup.threads`).
/// Anything unreadable counts as occupied.
fn cgroup_is_empty(cgroup: BorrowedFd<'_>) -> bool {
    let base = sys::fd_path(cgroup);
    let empty = |file: &str| match std::fs::read_to_string(base.join(file)) {
        Ok(text) => Some(text.trim().is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => Some(false),
    };
    empty("cgroup.procs") == Some(true) && empty("cgroup.threads") != Some(false)
}

fn mtime_age(mtime: i64) -> Option<std::time::Duration> {
    let then = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(mtime).ok()?);
    Some(SystemTime::now().duration_since(then).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: Outcome, reason: &str) -> Item {
        Item {
            kind: ItemKind::Pin,
            name: "p".into(),
            outcome,
            reason: reason.into(),
            state: None,
            age_seconds: None,
            pids: Vec::new(),
            namespaces: vec![crate::list::PathRow {
                kind: "net".into(),
                content: "namespace",
                inode: Some(1),
                host: false,
                problem: None,
            }],
        }
    }

    #[test]
    fn summary_counts_every_outcome() {
        let mut r = Report::default();
        r.push(item(Outcome::Removed, "orphan"));
        r.push(item(Outcome::Kept, "in use: 1 process(es)"));
        r.push(item(Outcome::Kept, "broken: x"));
        r.push(item(Outcome::Failed, "EPERM"));
        r.push(item(Outcome::Kept, "foreign: not ours"));
        assert_eq!(
            r.summary,
            Summary {
                found: 5,
                removed: 1,
                would_remove: 0,
                kept: 3,
                failed: 1
            }
        );
        assert!(r.any_failed());
        let text = r.text();
        assert!(text.contains("removed pin p (net): orphan"), "{text}");
        assert!(text.contains("kept pin p (net): broken: x"), "{text}");
        assert!(
            text.contains("kept pin p (net): foreign: not ours"),
            "{text}"
        );
        assert!(!text.contains("in use"), "{text}");
        assert_eq!(
            text.lines().last(),
            Some("cleanup: found 5, removed 1, kept 3, failed 1")
        );
    }

    #[test]
    fn hierarchies_below_a_v1_or_hybrid_root() {
        let text = "\
30 1 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 1 0:30 / /sys/fs/cgroupish rw - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/x/fuse rw - fuse fuse rw
";
        let mounts = sys::mountinfo::parse(text.as_bytes());
        let found = cgroup_mounts_below(&mounts, Path::new("/sys/fs/cgroup"));
        assert_eq!(
            found,
            ["unified", "systemd", "cpu,cpuacct"]
                .map(|m| PathBuf::from("/sys/fs/cgroup").join(m))
                .to_vec()
        );
        // A v2 node: the root is the hierarchy, nothing below it.
        let v2 = sys::mountinfo::parse(b"30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert!(cgroup_mounts_below(&v2, Path::new("/sys/fs/cgroup")).is_empty());
    }

    #[test]
    fn dry_run_summary_says_so() {
        let mut r = Report {
            dry_run: true,
            ..Report::default()
        };
        r.push(item(Outcome::WouldRemove, "orphan"));
        assert_eq!(
            r.summary_line(),
            "cleanup (dry run): found 1, would remove 1, kept 0, failed 0"
        );
        assert!(!r.any_failed());
    }
}
