//! `pinns cleanup --cgroups ROOT`: remove empty leaked cgroups of pods and
//! containers below ROOT, leaf first, never ROOT itself.
//!
//! Cgroups are removed with `rmdir`, which the kernel refuses for a cgroup
//! that has processes or children, so a process joining one mid-sweep keeps
//! it alive. Nothing below ROOT is reached through a symlink: every cgroup is
//! opened relative to its already opened parent, without following.

use super::report::{Item, ItemKind, Outcome, Report};
use crate::classify::{ids_in_cgroup_name, PinState};
use crate::duration;
use crate::error::{Error, PathContext, Result};
use crate::escape::Text;
use crate::keep::Guard;
use crate::sys::{files, mountinfo};
use nix::errno::Errno;
use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What the plan asks of a cgroup sweep.
pub(super) struct CgroupSweep<'a> {
    pub guard: &'a Guard,
    /// An empty cgroup younger than this is kept.
    pub older_than: Duration,
    pub dry_run: bool,
}

impl CgroupSweep<'_> {
    /// Sweeps every hierarchy of one `--cgroups ROOT`; a hierarchy that
    /// cannot be opened is one failed item, and the others are still swept.
    pub fn sweep_root(&self, root: &Path, report: &mut Report) {
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
                left_alone: false,
            })
        };
        match hierarchies(root) {
            Ok(hierarchies) => {
                for h in hierarchies {
                    if let Err(e) = self.sweep_hierarchy(&h, report) {
                        failed(report, &h, e);
                    }
                }
            }
            Err(e) => failed(report, root, e),
        }
    }

    /// Removes empty leaked cgroups below one hierarchy's ROOT, leaf first,
    /// never ROOT itself.
    fn sweep_hierarchy(&self, root: &Path, report: &mut Report) -> Result<()> {
        let fd = open_cgroup_root(root)?;
        let dev = files::stat_fd(fd.as_fd(), root)?.st_dev;
        let walk = CgroupWalk { sweep: self, dev };
        walk.visit(fd.as_fd(), root, report);
        Ok(())
    }
}

/// The cgroup hierarchies a `--cgroups ROOT` stands for: ROOT itself when it
/// is on a cgroup filesystem (a v2 node's /sys/fs/cgroup, one v1 controller,
/// a subtree); else every cgroup or cgroup2 mount below it (a v1 or hybrid
/// node's /sys/fs/cgroup is a tmpfs holding one mount per controller, plus
/// `unified` on hybrid), each hierarchy once.
pub(super) fn hierarchies(root: &Path) -> Result<Vec<PathBuf>> {
    let fd = files::open_dir_at(None, &root.join("."), root)?;
    if files::cgroup_version(fd.as_fd(), root)?.is_some() {
        return Ok(vec![root.to_path_buf()]);
    }
    let abs = std::path::absolute(root).at("resolve", root)?;
    let mounts = mountinfo::read_own()?;
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
fn cgroup_mounts_below(mounts: &[mountinfo::MountEntry], root: &Path) -> Vec<PathBuf> {
    mounts
        .iter()
        .filter(|m| matches!(m.fs_type.as_str(), "cgroup" | "cgroup2"))
        .filter(|m| m.mount_point != root && m.mount_point.starts_with(root))
        .map(|m| m.mount_point.clone())
        .collect()
}

fn open_cgroup_root(root: &Path) -> Result<OwnedFd> {
    let fd = files::open_dir_at(None, &root.join("."), root)?;
    match files::cgroup_version(fd.as_fd(), root)? {
        Some(_) => Ok(fd),
        None => Err(Error::Refused(format!(
            "{} is not on a cgroup filesystem; refusing to remove anything there",
            root.display()
        ))),
    }
}

/// A cgroup the walk has visited (its children first), with what was
/// learnt about it.
#[derive(Clone, Copy)]
struct Visited<'a> {
    parent: BorrowedFd<'a>,
    cgroup: BorrowedFd<'a>,
    name: &'a Path,
    path: &'a Path,
    /// Children still there (or that would be, in a dry run).
    children: usize,
    /// From the directory's mtime before its children were visited.
    age: Option<Duration>,
}

/// The walk of one hierarchy, which never leaves its filesystem `dev`.
struct CgroupWalk<'a> {
    sweep: &'a CgroupSweep<'a>,
    dev: u64,
}

impl CgroupWalk<'_> {
    /// Visits the children of `dir`; returns how many are still there (or
    /// would be, in a dry run).
    fn visit(&self, dir: BorrowedFd<'_>, path: &Path, report: &mut Report) -> usize {
        let entries = match std::fs::read_dir(files::fd_path(dir)) {
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
            let child = match files::open_dir_at(Some(dir), &name, &child_path) {
                Ok(fd) => fd,
                Err(e) if e.errno() == Some(Errno::ENOENT) => continue,
                Err(_) => {
                    remaining += 1;
                    continue;
                }
            };
            // The age is read before the children are visited: removing a
            // child updates its parent's mtime, and the parent would look
            // young to a leaf-first sweep.
            let st = files::stat_fd(child.as_fd(), &child_path).ok();
            let age = st.as_ref().and_then(files::mtime).map(age_of);
            let same_fs = st.is_some_and(|st| st.st_dev == self.dev);
            let grandchildren = if same_fs {
                self.visit(child.as_fd(), &child_path, report)
            } else {
                usize::MAX
            };
            let visited = Visited {
                parent: dir,
                cgroup: child.as_fd(),
                name: &name,
                path: &child_path,
                children: grandchildren,
                age,
            };
            if !self.consider(&visited, report) {
                remaining += 1;
            }
        }
        remaining
    }

    /// Decides on one cgroup whose children were already visited; returns
    /// whether it is (or would be) gone.
    fn consider(&self, visited: &Visited<'_>, report: &mut Report) -> bool {
        let Visited {
            parent,
            cgroup,
            name,
            path,
            children,
            age,
        } = *visited;
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
            left_alone: false,
        };
        let kept = |state, reason: &str| item(Outcome::Kept, state, reason.to_string());
        let verdict = if let Some(why) = self.sweep.guard.keeps_cgroup(&ids) {
            Err(kept(PinState::Idle, why))
        } else if children > 0 {
            Err(kept(PinState::InUse, "has child cgroups"))
        } else if !cgroup_is_empty(cgroup) {
            Err(kept(PinState::InUse, "has processes"))
        } else {
            match age {
                Some(age) if age >= self.sweep.older_than => Ok(age),
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
        if self.sweep.dry_run {
            report.push(item(Outcome::WouldRemove, PinState::Orphan, reason));
            return true;
        }
        let parent_path = path.parent().unwrap_or(path);
        let Err(e) = files::rmdir_at(parent, parent_path, name) else {
            report.push(item(Outcome::Removed, PinState::Orphan, reason));
            return true;
        };
        match e.errno() {
            // The kernel refused: a process or a child cgroup arrived.
            Some(Errno::EBUSY | Errno::ENOTEMPTY) => {
                report.push(kept(PinState::InUse, "became busy during the sweep"));
            }
            // The item names the cgroup already.
            Some(errno) => report.push(item(
                Outcome::Failed,
                PinState::Orphan,
                format!("rmdir: {errno}"),
            )),
            None => report.push(item(Outcome::Failed, PinState::Orphan, e.to_string())),
        }
        false
    }
}

/// No process and no thread in the cgroup (v1 and v2 both have
/// `cgroup.procs`; v2 threaded cgroups list threads in `cgroup.threads`).
/// Anything unreadable counts as occupied.
fn cgroup_is_empty(cgroup: BorrowedFd<'_>) -> bool {
    let base = files::fd_path(cgroup);
    let empty = |file: &str| match std::fs::read_to_string(base.join(file)) {
        Ok(text) => Some(text.trim().is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => Some(false),
    };
    empty("cgroup.procs") == Some(true) && empty("cgroup.threads") != Some(false)
}

/// How long ago `then` was; zero for a time in the future.
fn age_of(then: SystemTime) -> Duration {
    SystemTime::now().duration_since(then).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mounts = mountinfo::parse(text.as_bytes());
        let found = cgroup_mounts_below(&mounts, Path::new("/sys/fs/cgroup"));
        assert_eq!(
            found,
            ["unified", "systemd", "cpu,cpuacct"]
                .map(|m| PathBuf::from("/sys/fs/cgroup").join(m))
                .to_vec()
        );
        // A v2 node: the root is the hierarchy, nothing below it.
        let v2 = mountinfo::parse(b"30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert!(cgroup_mounts_below(&v2, Path::new("/sys/fs/cgroup")).is_empty());
    }
}
