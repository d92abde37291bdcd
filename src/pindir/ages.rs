//! Ages of pins, for `inventory`.
//!
//! The age of a pin path is the modification time of the *file under the
//! mount*: the empty file `pin` creates (or CRI-O pre-creates) just before
//! mounting onto it. Stat-ing the pin path itself would return the times of
//! the nsfs inode, which belong to the namespace, not to the pin (a
//! `--net=host` pin would look as old as the host). To reach the covered
//! file, DIR's mount (and any `<type>ns` directory that is a mount of its
//! own) is cloned without its submounts into a detached tree (`open_tree`),
//! which is in no mount namespace and vanishes when closed; where the
//! kernel lacks that (before 5.2), a forked child enters a private mount
//! namespace and bind-mounts each directory onto itself, mounts that vanish
//! with it and never propagate to the host. A pin's age is that of its
//! youngest path; when it cannot be read, the age is unknown and the pin is
//! never an orphan.

use super::{PinDir, TypeDir};
use crate::error::{Error, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::sys::{self, fdmount, files, process};
use std::collections::{BTreeSet, HashMap};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Each `<type>ns` directory as it is below the mounts on its entries (see
/// the module docs), where the kernel has `open_tree` (5.2).
///
/// The type directories on DIR's own mount (the usual case) are reached
/// through one detached copy of that mount, not one copy each: the kernel's
/// `open_tree` looks at every mount under the one it copies (15,000 at
/// 5,000 pods). Each directory reached in that copy is checked to be the
/// one we opened (same device and inode). A type directory that is a mount
/// of its own (`mntns` after its first pin) or fails that check gets a copy
/// of its own.
pub(super) struct Uncovered {
    dirs: Vec<(NsKind, OwnedFd)>,
    /// The copy of DIR's mount the `dirs` on it were opened in, held for as
    /// long as they are used.
    _dir_copy: Option<OwnedFd>,
}

impl Uncovered {
    /// `None` if a type directory cannot be uncovered this way.
    pub(super) fn open(dir: &PinDir, type_dirs: &[TypeDir]) -> Option<Uncovered> {
        let mount_of =
            |fd: BorrowedFd<'_>, path: &Path| fdmount::mount_id(fd, path).ok().map(|(id, _)| id);
        let dir_mount = mount_of(dir.fd.as_fd(), &dir.path);
        let on_dir_mount: Vec<bool> = type_dirs
            .iter()
            .map(|td| dir_mount.is_some() && mount_of(td.fd(), &td.path) == dir_mount)
            .collect();
        let dir_copy = on_dir_mount
            .contains(&true)
            .then(|| fdmount::clone_mount(dir.fd.as_fd(), &dir.path).ok())
            .flatten();
        let mut dirs = Vec::with_capacity(type_dirs.len());
        for (td, on_dir) in type_dirs.iter().zip(on_dir_mount) {
            let in_copy = dir_copy
                .as_ref()
                .filter(|_| on_dir)
                .and_then(|copy| same_dir_in(copy.as_fd(), td));
            let fd = match in_copy {
                Some(fd) => fd,
                None => fdmount::clone_mount(td.fd(), &td.path).ok()?,
            };
            dirs.push((td.kind, fd));
        }
        Some(Uncovered {
            dirs,
            _dir_copy: dir_copy,
        })
    }

    /// Modification time of the file under the mount at `DIR/<kind>ns/name`.
    pub(super) fn mtime(&self, kind: NsKind, name: &PinName) -> Option<SystemTime> {
        let (_, fd) = self.dirs.iter().find(|(k, _)| *k == kind)?;
        // No path for a message: a failure only means "age unknown".
        let st =
            files::stat_at_nofollow(fd.as_fd(), Path::new(""), Path::new(name.as_str())).ok()?;
        files::mtime(&st)
    }
}

/// `<type>ns` in a copy of DIR's mount, if it is the directory `td` is.
fn same_dir_in(copy: BorrowedFd<'_>, td: &TypeDir) -> Option<OwnedFd> {
    let fd = files::open_dir_at(Some(copy), Path::new(&td.kind.dir_name()), &td.path).ok()?;
    let seen = files::stat_fd(fd.as_fd(), &td.path).ok()?;
    let opened = files::stat_fd(td.fd(), &td.path).ok()?;
    ((seen.st_dev, seen.st_ino) == (opened.st_dev, opened.st_ino)).then_some(fd)
}

pub(super) fn covered_mtimes_in_child(
    dir: &Path,
    wanted: &[(NsKind, String)],
) -> Result<HashMap<(NsKind, String), SystemTime>> {
    let kinds: BTreeSet<NsKind> = wanted.iter().map(|(k, _)| *k).collect();
    let bytes = process::run_in_child("read pin ages", || {
        sys::mount::private_mount_namespace().map_err(|e| e.to_string())?;
        let dir_fd = files::open_dir_at(None, &dir.join("."), dir).map_err(|e| e.to_string())?;
        for kind in &kinds {
            let name = PathBuf::from(kind.dir_name());
            let path = dir.join(&name);
            let fd = files::open_dir_at(Some(dir_fd.as_fd()), &name, &path)
                .map_err(|e| e.to_string())?;
            sys::mount::uncover(fd.as_fd(), &path).map_err(|e| e.to_string())?;
        }
        let mut out = Vec::new();
        for kind in &kinds {
            // Reopened: the lookup now lands on the uncovering mount.
            let path = dir.join(kind.dir_name());
            let Ok(fd) =
                files::open_dir_at(Some(dir_fd.as_fd()), Path::new(&kind.dir_name()), &path)
            else {
                continue;
            };
            for (_, name) in wanted.iter().filter(|(k, _)| k == kind) {
                if let Ok(st) = files::stat_at_nofollow(fd.as_fd(), &path, Path::new(name)) {
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
