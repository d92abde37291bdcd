//! What is pinned in a directory: walks `DIR/<type>ns/`, looks at each entry
//! without following symlinks, and groups the entries by pin name. Shared by
//! `list`, `inspect` and `cleanup`.
//!
//! # Age of a pin
//! The age of a pin path is the modification time of the *file under the
//! mount*: the empty file `pin` creates (or CRI-O pre-creates) just before
//! mounting onto it. Stat-ing the pin path itself would return the times of
//! the nsfs inode, which belong to the namespace, not to the pin (a
//! `--net=host` pin would look as old as the host). To reach the covered
//! file, a forked child enters a private mount namespace and bind-mounts each
//! `<type>ns` directory onto itself without its submounts; the child's
//! mounts vanish with it and never propagate to the host. A pin's age is
//! that of its youngest path; when it cannot be read, the age is unknown
//! and the pin is never an orphan.

use crate::classify::{classify_pin, OrphanRules, PinFacts, PinState};
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::procs::NsIndex;
use crate::sys::{self, process};
use nix::errno::Errno;
use nix::sys::stat::{FileStat, SFlag};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What one pin path holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A namespace bind mount (an nsfs inode).
    Namespace { inode: u64, host: bool },
    /// An empty plain file on the directory's own filesystem, not mounted
    /// over: what a pin that died between creating and mounting leaves. Ours
    /// to remove.
    Leftover { inode: u64 },
    /// Anything else: a non-empty file, a foreign mount, a symlink, a
    /// directory. Reported, never removed.
    Foreign(&'static str),
}

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
            broken: count(|c| matches!(c, Content::Foreign(_))),
            own_namespaces: count(|c| matches!(c, Content::Namespace { host: false, .. })),
            host_namespaces: count(|c| matches!(c, Content::Namespace { host: true, .. })),
            leftovers: count(|c| matches!(c, Content::Leftover { .. })),
            processes: self.processes(index).len(),
            age: self.age(now),
            kept,
            ..PinFacts::default()
        }
    }

    pub fn state(&self, index: &NsIndex, kept: bool, rules: &OrphanRules) -> PinState {
        classify_pin(&self.facts(index, kept, SystemTime::now()), rules)
    }
}

/// An open pin directory and what it holds.
pub struct PinDir {
    pub path: PathBuf,
    pub fd: OwnedFd,
    /// The `<type>ns` directories that exist, opened without following symlinks.
    pub type_dirs: Vec<(NsKind, OwnedFd)>,
    pub pins: BTreeMap<PinName, Pin>,
    /// Things we saw but will not look into or touch, one sentence each.
    pub warnings: Vec<String>,
}

impl PinDir {
    /// Opens DIR (which may be reached through symlinks, as `/var/run` is)
    /// and its `<type>ns` directories (which may not). `Ok(None)` if DIR
    /// does not exist.
    pub fn open(path: &Path) -> Result<Option<PinDir>> {
        let path = std::path::absolute(path).at("resolve", path)?;
        let fd = match sys::open_dir_at(None, &path.join(".")) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(Error::path("open directory", path, e)),
        };
        let mut dir = PinDir {
            path,
            fd,
            type_dirs: Vec::new(),
            pins: BTreeMap::new(),
            warnings: Vec::new(),
        };
        for kind in NsKind::pinnable() {
            let sub = dir.path.join(kind.dir_name());
            match sys::open_dir_at(Some(dir.fd.as_fd()), Path::new(&kind.dir_name())) {
                Ok(fd) => dir.type_dirs.push((kind, fd)),
                Err(Errno::ENOENT) => {}
                Err(Errno::ELOOP | Errno::ENOTDIR) => dir.warnings.push(format!(
                    "{} is a symlink or not a directory; not looked into",
                    sub.display()
                )),
                Err(e) => return Err(Error::path("open directory", sub, e)),
            }
        }
        Ok(Some(dir))
    }

    /// Looks at every entry of every `<type>ns` directory.
    pub fn scan(&mut self) -> Result<()> {
        self.scan_where(None)
    }

    /// Looks at one pin name only, without ages or the host's namespaces:
    /// what tearing down one pod needs, at a cost that does not grow with
    /// the number of pins in DIR.
    pub fn scan_name(&mut self, name: &PinName) -> Result<()> {
        self.scan_where(Some(name))
    }

    fn scan_where(&mut self, only: Option<&PinName>) -> Result<()> {
        let host = match only {
            Some(_) => HashSet::new(),
            None => host_namespaces(),
        };
        let mut found: BTreeMap<PinName, Vec<Entry>> = BTreeMap::new();
        for (kind, fd) in &self.type_dirs {
            let type_path = self.path.join(kind.dir_name());
            let dev = sys::stat_fd(fd.as_fd()).at("stat", &type_path)?.st_dev;
            let names = match only {
                Some(name) => vec![name.to_string()],
                None => entry_names(fd.as_fd(), &type_path)?,
            };
            for name in names {
                let Ok(pin_name) = PinName::parse(&name) else {
                    self.warnings.push(format!(
                        "{}: {name:?} is not a pin name; ignored",
                        type_path.display()
                    ));
                    continue;
                };
                let Some(content) = examine(fd.as_fd(), dev, Path::new(&name), *kind, &host)?
                else {
                    continue; // absent, or removed while we looked
                };
                found.entry(pin_name).or_default().push(Entry {
                    kind: *kind,
                    content,
                    mtime: None,
                });
            }
        }
        if only.is_none() {
            self.fill_mtimes(&mut found);
        }
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
        match covered_mtimes(&self.path, &wanted) {
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

    pub fn type_dir(&self, kind: NsKind) -> Option<BorrowedFd<'_>> {
        self.type_dirs
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, fd)| fd.as_fd())
    }

    pub fn pin_path(&self, kind: NsKind, name: &PinName) -> PathBuf {
        self.path.join(kind.dir_name()).join(name.as_str())
    }
}

/// Names in a directory, read through its descriptor.
fn entry_names(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(sys::fd_path(dir)).at("read directory", path)?;
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

/// What is at `name` in a `<type>ns` directory; `None` if nothing is.
pub fn examine(
    dir: BorrowedFd<'_>,
    dir_dev: u64,
    name: &Path,
    kind: NsKind,
    host: &HashSet<(NsKind, u64)>,
) -> Result<Option<Content>> {
    let fd = match sys::open_path_at(dir, name) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::path("open", name, e)),
    };
    let st = sys::stat_fd(fd.as_fd()).at("stat", name)?;
    if sys::is_nsfs(fd.as_fd()).at("statfs", name)? {
        return Ok(Some(Content::Namespace {
            inode: st.st_ino,
            host: host.contains(&(kind, st.st_ino)),
        }));
    }
    Ok(Some(classify_plain(&st, dir_dev)))
}

fn classify_plain(st: &FileStat, dir_dev: u64) -> Content {
    let file_type = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if file_type == SFlag::S_IFLNK {
        Content::Foreign("a symlink")
    } else if st.st_dev != dir_dev {
        Content::Foreign("a foreign mount (not a namespace)")
    } else if file_type == SFlag::S_IFDIR {
        Content::Foreign("a directory")
    } else if file_type != SFlag::S_IFREG {
        Content::Foreign("not a regular file")
    } else if st.st_size != 0 {
        Content::Foreign("a non-empty plain file")
    } else {
        Content::Leftover { inode: st.st_ino }
    }
}

/// Modification times of the files under the pin mounts (see the module
/// docs), read in a child with a private mount namespace.
fn covered_mtimes(
    dir: &Path,
    wanted: &[(NsKind, String)],
) -> Result<HashMap<(NsKind, String), SystemTime>> {
    let kinds: BTreeSet<NsKind> = wanted.iter().map(|(k, _)| *k).collect();
    let bytes = process::run_in_child("read pin ages", || {
        sys::private_mount_namespace().map_err(|e| e.to_string())?;
        let dir_fd = sys::open_dir_at(None, &dir.join("."))
            .map_err(|e| format!("open {}: {e}", dir.display()))?;
        for kind in &kinds {
            let name = PathBuf::from(kind.dir_name());
            let fd = sys::open_dir_at(Some(dir_fd.as_fd()), &name)
                .map_err(|e| format!("open {}: {e}", dir.join(&name).display()))?;
            sys::uncover(fd.as_fd(), &dir.join(&name)).map_err(|e| e.to_string())?;
        }
        let mut out = Vec::new();
        for kind in &kinds {
            // Reopened: the lookup now lands on the uncovering mount.
            let Ok(fd) = sys::open_dir_at(Some(dir_fd.as_fd()), Path::new(&kind.dir_name())) else {
                continue;
            };
            for (_, name) in wanted.iter().filter(|(k, _)| k == kind) {
                if let Ok(st) = sys::stat_at_nofollow(fd.as_fd(), Path::new(name)) {
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

    fn stat_of(mode: u32, size: i64, dev: u64) -> FileStat {
        // SAFETY: FileStat is a plain C struct; all-zero is a valid value.
        let mut st: FileStat = unsafe { std::mem::zeroed() };
        st.st_mode = mode;
        st.st_size = size;
        st.st_dev = dev;
        st.st_ino = 7;
        st
    }

    #[test]
    fn only_an_empty_plain_file_on_our_filesystem_is_a_leftover() {
        let reg = libc::S_IFREG | 0o444;
        assert_eq!(
            classify_plain(&stat_of(reg, 0, 1), 1),
            Content::Leftover { inode: 7 }
        );
        assert!(matches!(
            classify_plain(&stat_of(reg, 3, 1), 1),
            Content::Foreign(_)
        ));
        assert!(matches!(
            classify_plain(&stat_of(reg, 0, 2), 1),
            Content::Foreign("a foreign mount (not a namespace)")
        ));
        assert!(matches!(
            classify_plain(&stat_of(libc::S_IFLNK | 0o777, 0, 1), 1),
            Content::Foreign("a symlink")
        ));
        assert!(matches!(
            classify_plain(&stat_of(libc::S_IFDIR | 0o755, 0, 1), 1),
            Content::Foreign("a directory")
        ));
        assert!(matches!(
            classify_plain(&stat_of(libc::S_IFIFO | 0o644, 0, 1), 1),
            Content::Foreign(_)
        ));
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
