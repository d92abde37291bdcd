//! What is pinned in a directory: walks `DIR/<type>ns/`, judges each entry
//! with [`TypeDir::examine`], and groups the entries by pin name. Shared by
//! `list`, `inspect` and `cleanup`.
//!
//! # Age of a pin
//! The age of a pin path is the modification time of the *file under the
//! mount*: the empty file `pin` creates (or CRI-O pre-creates) just before
//! mounting onto it. Stat-ing the pin path itself would return the times of
//! the nsfs inode, which belong to the namespace, not to the pin (a
//! `--net=host` pin would look as old as the host). To reach the covered
//! file, each `<type>ns` directory's mount is cloned without its submounts
//! into a detached tree (`open_tree`), which is in no mount namespace and
//! vanishes when closed; where the kernel lacks that (before 5.2), a forked
//! child enters a private mount namespace and bind-mounts each directory
//! onto itself, mounts that vanish with it and never propagate to the host.
//! A pin's age is
//! that of its youngest path; when it cannot be read, the age is unknown
//! and the pin is never an orphan.

use super::{Content, PinDir, TypeDir};
use crate::classify::PinFacts;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::procs::NsIndex;
use crate::sys::{self, process};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: NsKind,
    pub content: Content,
    /// Modification time of the file under the mount (see the module docs).
    pub mtime: Option<SystemTime>,
}

/// Every path pinned under one name.
#[derive(Debug, Clone)]
pub struct Pin {
    pub name: PinName,
    /// In `NsKind` order.
    pub entries: Vec<Entry>,
}

impl Pin {
    pub fn kinds(&self) -> impl Iterator<Item = NsKind> + '_ {
        self.entries.iter().map(|e| e.kind)
    }

    /// Age of the youngest path; `None` if any age is unknown.
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        self.entries
            .iter()
            .map(|e| {
                e.mtime
                    .map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
            })
            .try_fold(Duration::MAX, |min, age| Some(min.min(age?)))
    }

    /// The pod's own namespaces: pinned, and not the host's.
    pub fn own_namespaces(&self) -> impl Iterator<Item = (NsKind, u64)> + '_ {
        self.entries.iter().filter_map(|e| match e.content {
            Content::Namespace { inode, host: false } => Some((e.kind, inode)),
            _ => None,
        })
    }

    /// Processes with a task (any thread) living in any of the pod's own
    /// namespaces, sorted.
    pub fn processes(&self, index: &NsIndex) -> Vec<i32> {
        let pids: BTreeSet<i32> = self
            .own_namespaces()
            .flat_map(|(kind, ino)| index.tasks_in(kind, ino).iter().map(|t| t.pid))
            .collect();
        pids.into_iter().collect()
    }

    pub fn facts(&self, index: &NsIndex, kept: bool, now: SystemTime) -> PinFacts {
        let count = |f: fn(&Content) -> bool| self.entries.iter().filter(|e| f(&e.content)).count();
        PinFacts {
            broken: count(|c| matches!(c, Content::Broken(_))),
            own_namespaces: count(|c| matches!(c, Content::Namespace { host: false, .. })),
            host_namespaces: count(|c| matches!(c, Content::Namespace { host: true, .. })),
            leftovers: count(|c| matches!(c, Content::Leftover { .. })),
            processes: self.processes(index).len(),
            age: self.age(now),
            kept,
            ..PinFacts::default()
        }
    }
}

/// An opened pin directory and what it holds.
pub struct Inventory {
    pub dir: PinDir,
    /// The `<type>ns` directories that exist, opened without following symlinks.
    pub type_dirs: Vec<TypeDir>,
    pub pins: BTreeMap<PinName, Pin>,
    /// Things we saw but will not look into or touch, one sentence each.
    pub warnings: Vec<String>,
}

impl Inventory {
    /// Opens DIR and its `<type>ns` directories; `Ok(None)` if DIR does not
    /// exist. A `<type>ns` that is a symlink or not a directory is a warning.
    pub fn open(path: &Path) -> Result<Option<Inventory>> {
        let Some(dir) = PinDir::open(path)? else {
            return Ok(None);
        };
        let mut inv = Inventory {
            dir,
            type_dirs: Vec::new(),
            pins: BTreeMap::new(),
            warnings: Vec::new(),
        };
        for kind in NsKind::pinnable() {
            inv.open_type(kind)?;
        }
        Ok(Some(inv))
    }

    fn open_type(&mut self, kind: NsKind) -> Result<()> {
        match self.dir.open_type(kind) {
            Ok(Some(td)) => self.type_dirs.push(td),
            Ok(None) => {}
            Err(Error::Refused(_)) => self.warnings.push(format!(
                "{} is a symlink or not a directory; not looked into",
                self.dir.path.join(kind.dir_name()).display()
            )),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Opens the `<type>ns` directories created since [`Inventory::open`]:
    /// a fresh look at a pin must see all its types.
    pub fn open_new_types(&mut self) -> Result<()> {
        for kind in NsKind::pinnable() {
            if self.type_dir(kind).is_none() {
                self.open_type(kind)?;
            }
        }
        self.type_dirs.sort_by_key(|d| d.kind);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// A fresh look at one name (all its types, now), for a removal that
    /// must see the whole pin under the lock.
    pub fn look_again(&self, name: &PinName) -> Result<Option<Pin>> {
        let entries = self.entries_of(name, None, &HashSet::new())?;
        Ok((!entries.is_empty()).then(|| Pin {
            name: name.clone(),
            entries,
        }))
    }

    /// The entries of `name` in the type directories `kinds` (all if `None`).
    fn entries_of(
        &self,
        name: &PinName,
        kinds: Option<&BTreeSet<NsKind>>,
        host: &HashSet<(NsKind, u64)>,
    ) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let wanted = self
            .type_dirs
            .iter()
            .filter(|td| kinds.map_or(true, |k| k.contains(&td.kind)));
        for td in wanted {
            let Some((mut content, _)) = td.examine(name)? else {
                continue; // absent, or removed while we looked
            };
            if let Content::Namespace { inode, host: h } = &mut content {
                *h = host.contains(&(td.kind, *inode));
            }
            entries.push(Entry {
                kind: td.kind,
                content,
                mtime: None,
            });
        }
        Ok(entries)
    }

    /// Looks at every entry of every `<type>ns` directory, with ages and
    /// the host's namespaces marked.
    pub fn scan(&mut self) -> Result<()> {
        let host = host_namespaces();
        // Each name is judged in all its types at once, for one look at a
        // pin that is as close to a snapshot as reading files allows.
        let mut names: BTreeMap<PinName, BTreeSet<NsKind>> = BTreeMap::new();
        for td in &self.type_dirs {
            for name in entry_names(td.fd(), &td.path)? {
                match PinName::parse(&name) {
                    Ok(name) => {
                        names.entry(name).or_default().insert(td.kind);
                    }
                    Err(_) => self.warnings.push(format!(
                        "{}: {name:?} is not a pin name; ignored",
                        td.path.display()
                    )),
                }
            }
        }
        let mut found: BTreeMap<PinName, Vec<Entry>> = BTreeMap::new();
        for (name, kinds) in names {
            let entries = self.entries_of(&name, Some(&kinds), &host)?;
            if !entries.is_empty() {
                found.insert(name, entries);
            }
        }
        self.fill_mtimes(&mut found);
        self.pins = found
            .into_iter()
            .map(|(name, entries)| (name.clone(), Pin { name, entries }))
            .collect();
        Ok(())
    }

    fn fill_mtimes(&mut self, found: &mut BTreeMap<PinName, Vec<Entry>>) {
        let wanted: Vec<(NsKind, String)> = found
            .iter()
            .flat_map(|(name, entries)| entries.iter().map(move |e| (e.kind, name.to_string())))
            .collect();
        if wanted.is_empty() {
            return;
        }
        match covered_mtimes(&self.dir.path, &self.type_dirs, &wanted) {
            Ok(times) => {
                for (name, entries) in found.iter_mut() {
                    for e in entries {
                        e.mtime = times.get(&(e.kind, name.to_string())).copied();
                    }
                }
            }
            Err(e) => self
                .warnings
                .push(format!("ages unknown, so nothing counts as an orphan: {e}")),
        }
    }

    pub fn type_dir(&self, kind: NsKind) -> Option<&TypeDir> {
        super::find_type(&self.type_dirs, kind)
    }

    pub fn pin_path(&self, kind: NsKind, name: &PinName) -> PathBuf {
        super::pin_path(&self.dir.path, kind, name)
    }
}

/// Names in a directory, read through its descriptor.
fn entry_names(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(sys::files::fd_path(dir)).at("read directory", path)?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.at("read directory", path)?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Namespaces that belong to the node rather than to a pod: those of PID 1
/// and those of the caller (what `--net=host` pins). Both are looked at
/// because PID 1's links are unreadable where ptrace access to it is denied.
pub fn host_namespaces() -> HashSet<(NsKind, u64)> {
    let mut host = HashSet::new();
    for kind in NsKind::pinnable() {
        for pid in ["1", "self"] {
            let link = format!("/proc/{pid}/ns/{kind}");
            if let Ok(ino) = crate::procs::ns_inode(Path::new(&link)) {
                host.insert((kind, ino));
            }
        }
    }
    host
}

/// Modification times of the files under the pin mounts (see the module
/// docs): through a detached copy of each `<type>ns` directory's mount
/// without submounts where the kernel has `open_tree` (5.2), else in a
/// child with a private mount namespace.
fn covered_mtimes(
    dir: &Path,
    type_dirs: &[TypeDir],
    wanted: &[(NsKind, String)],
) -> Result<HashMap<(NsKind, String), SystemTime>> {
    let mut times = HashMap::new();
    for td in type_dirs {
        let kind = &td.kind;
        let mut names = wanted.iter().filter(|(k, _)| k == kind).peekable();
        if names.peek().is_none() {
            continue;
        }
        let Ok(tree) = sys::fdmount::clone_mount(td.fd(), &td.path) else {
            return covered_mtimes_in_child(dir, wanted);
        };
        for (_, name) in names {
            if let Ok(st) = sys::files::stat_at_nofollow(tree.as_fd(), &td.path, Path::new(name)) {
                if let Some(time) = system_time(st.st_mtime, st.st_mtime_nsec) {
                    times.insert((*kind, name.clone()), time);
                }
            }
        }
    }
    Ok(times)
}

fn covered_mtimes_in_child(
    dir: &Path,
    wanted: &[(NsKind, String)],
) -> Result<HashMap<(NsKind, String), SystemTime>> {
    let kinds: BTreeSet<NsKind> = wanted.iter().map(|(k, _)| *k).collect();
    let bytes = process::run_in_child("read pin ages", || {
        sys::mount::private_mount_namespace().map_err(|e| e.to_string())?;
        let dir_fd =
            sys::files::open_dir_at(None, &dir.join("."), dir).map_err(|e| e.to_string())?;
        for kind in &kinds {
            let name = PathBuf::from(kind.dir_name());
            let path = dir.join(&name);
            let fd = sys::files::open_dir_at(Some(dir_fd.as_fd()), &name, &path)
                .map_err(|e| e.to_string())?;
            sys::mount::uncover(fd.as_fd(), &path).map_err(|e| e.to_string())?;
        }
        let mut out = Vec::new();
        for kind in &kinds {
            // Reopened: the lookup now lands on the uncovering mount.
            let name = PathBuf::from(kind.dir_name());
            let Ok(fd) = sys::files::open_dir_at(Some(dir_fd.as_fd()), &name, &name) else {
                continue;
            };
            for (_, name) in wanted.iter().filter(|(k, _)| k == kind) {
                let type_path = dir.join(kind.dir_name());
                if let Ok(st) =
                    sys::files::stat_at_nofollow(fd.as_fd(), &type_path, Path::new(name))
                {
                    out.push((kind.dir_name(), name.clone(), st.st_mtime, st.st_mtime_nsec));
                }
            }
        }
        serde_json::to_vec(&out).map_err(|e| e.to_string())
    })?;
    let rows: Vec<(String, String, i64, i64)> =
        serde_json::from_slice(&bytes).map_err(|e| Error::Helper(format!("read pin ages: {e}")))?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, name, secs, nsecs)| {
            let time = system_time(secs, nsecs)?;
            Some(((NsKind::from_dir_name(&kind)?, name), time))
        })
        .collect())
}

fn system_time(secs: i64, nsecs: i64) -> Option<SystemTime> {
    let since_epoch = Duration::new(u64::try_from(secs).ok()?, u32::try_from(nsecs).ok()?);
    SystemTime::UNIX_EPOCH.checked_add(since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_the_youngest_and_unknown_if_any_is() {
        let now = SystemTime::now();
        let entry = |secs_ago: Option<u64>| Entry {
            kind: NsKind::Net,
            content: Content::Leftover { inode: 1 },
            mtime: secs_ago.map(|s| now - Duration::from_secs(s)),
        };
        let pin = |entries| Pin {
            name: PinName::parse("p").unwrap(),
            entries,
        };
        assert_eq!(
            pin(vec![entry(Some(100)), entry(Some(30))]).age(now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(pin(vec![entry(Some(100)), entry(None)]).age(now), None);
    }
}
