//! What is pinned in a directory: walks `DIR/<type>ns/`, judges each entry
//! with [`TypeDir::look`], and groups the entries by pin name. Shared by
//! `list`, `inspect` and `cleanup`.
//!
//! # Cost
//! One read of each `<type>ns` directory, then two `fstatat` per pin path:
//! one on the live directory (what is mounted there), one under the mounts
//! (its age). `list` over 5,000 pods pays this for 15,000 paths.
//!
//! What a pin's age is and how it is read: `pindir::ages`.

use super::ages::{covered_mtimes_in_child, Uncovered};
use super::{Content, PinDir, TypeDir};
use crate::classify::PinFacts;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::procs::NsIndex;
use crate::sys;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::fd::BorrowedFd;
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
        let all: Vec<usize> = (0..self.type_dirs.len()).collect();
        let entries = self.entries_of(name, &all, &HashSet::new())?;
        Ok((!entries.is_empty()).then(|| Pin {
            name: name.clone(),
            entries,
        }))
    }

    /// The entries of `name` in the type directories `dirs` (indexes into
    /// `type_dirs`), one `fstatat` each.
    fn entries_of(
        &self,
        name: &PinName,
        dirs: &[usize],
        host: &HashSet<(NsKind, u64)>,
    ) -> Result<Vec<Entry>> {
        let mut entries = Vec::with_capacity(dirs.len());
        for td in dirs.iter().map(|&i| &self.type_dirs[i]) {
            let Some(mut content) = td.look(name)? else {
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
        let names = self.names()?;
        self.scan_names(&names)
    }

    /// What [`Inventory::scan`] finds of one name, without reading the
    /// directories: `inspect` looks at one pod, among thousands maybe.
    pub fn scan_one(&mut self, name: &PinName) -> Result<()> {
        let all = (0..self.type_dirs.len()).collect();
        self.scan_names(&[(name.clone(), all)])
    }

    /// Judges `names` in the type directories given with each.
    fn scan_names(&mut self, names: &[(PinName, Vec<usize>)]) -> Result<()> {
        let host = host_namespaces();
        let uncovered = Uncovered::open(&self.dir, &self.type_dirs);
        let look = |(name, dirs): &(PinName, Vec<usize>)| -> Result<Option<Pin>> {
            let mut entries = self.entries_of(name, dirs, &host)?;
            if let Some(uncovered) = &uncovered {
                for e in &mut entries {
                    e.mtime = uncovered.mtime(e.kind, name);
                }
            }
            Ok((!entries.is_empty()).then(|| Pin {
                name: name.clone(),
                entries,
            }))
        };
        let mut pins = BTreeMap::new();
        for pin in map_in_parallel(names, look) {
            if let Some(pin) = pin? {
                pins.insert(pin.name.clone(), pin);
            }
        }
        self.pins = pins;
        if uncovered.is_none() {
            self.fill_mtimes_in_child();
        }
        Ok(())
    }

    /// Every pin name in the type directories, sorted, with the indexes of
    /// the type directories holding it: each name is then judged in all its
    /// types at once, for one look at a pin that is as close to a snapshot
    /// as reading files allows. Other names are warnings.
    fn names(&mut self) -> Result<Vec<(PinName, Vec<usize>)>> {
        let mut seen = Vec::new();
        for (i, td) in self.type_dirs.iter().enumerate() {
            for name in entry_names(td.fd(), &td.path)? {
                match PinName::parse(&name) {
                    Ok(name) => seen.push((name, i)),
                    Err(_) => self.warnings.push(format!(
                        "{}: {name:?} is not a pin name; ignored",
                        td.path.display()
                    )),
                }
            }
        }
        seen.sort_unstable();
        let mut names: Vec<(PinName, Vec<usize>)> = Vec::new();
        for (name, i) in seen {
            match names.last_mut() {
                Some((last, dirs)) if *last == name => dirs.push(i),
                _ => names.push((name, vec![i])),
            }
        }
        Ok(names)
    }

    /// Ages through the child (before Linux 5.2; see the module docs).
    fn fill_mtimes_in_child(&mut self) {
        let wanted: Vec<(NsKind, String)> = self
            .pins
            .values()
            .flat_map(|pin| pin.entries.iter().map(|e| (e.kind, pin.name.to_string())))
            .collect();
        if wanted.is_empty() {
            return;
        }
        match covered_mtimes_in_child(&self.dir.path, &wanted) {
            Ok(times) => {
                for pin in self.pins.values_mut() {
                    for e in &mut pin.entries {
                        e.mtime = times.get(&(e.kind, pin.name.to_string())).copied();
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

/// `f` of every item, in order, spread over a few threads when there are
/// a thousand or more: for a pin name, `f` is two `fstatat` per path, independent
/// calls whose path walks the kernel runs side by side (RCU, no shared
/// lock), so on an idle node the time of a large directory divides by the
/// cores while the work stays the same.
fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    // A chunk of 500 names is ~4 ms of calls; a thread starts in ~0.1 ms.
    const PER_THREAD: usize = 500;
    let wanted = (items.len() / PER_THREAD).min(4);
    let threads = match wanted {
        0 | 1 => 1,
        n => std::thread::available_parallelism().map_or(1, |c| c.get().min(n)),
    };
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let others: Vec<_> = items
            .chunks(chunk)
            .skip(1)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = items[..chunk].iter().map(&f).collect();
        for other in others {
            out.extend(
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        out
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_spread_over_threads_comes_back_whole_and_in_order() {
        for n in [0, 1, 999, 1000, 4001, 9999] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_in_parallel(&items, |i| (std::thread::current().id(), i * 2));
            assert_eq!(
                doubled.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
                items.iter().map(|i| i * 2).collect::<Vec<_>>()
            );
            let threads: HashSet<_> = doubled.iter().map(|(t, _)| *t).collect();
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            if n >= 1000 && cores > 1 {
                assert!(threads.len() > 1, "{n} items on one thread");
            } else if n < 1000 {
                assert!(threads.len() <= 1, "{n} items spread");
            }
        }
    }

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
