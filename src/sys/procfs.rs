//! A private procfs instance made with the new mount API, and file access
//! relative to a directory descriptor of `/proc/sys`.
//!
//! Why: every network and IPC namespace adds a dentry under the shared
//! `/proc/sys/net` and `/proc/sys/kernel` of the host's procfs, and every
//! lookup from a new namespace walks that chain; an instance of our own has
//! dentries of its own. It is created detached (`fsmount`, never attached
//! anywhere in the tree) and goes away with its last descriptor.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

// From <linux/mount.h>.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const MOUNT_ATTR_NOEXEC: libc::c_uint = 0x8;

fn owned(rc: libc::c_long) -> nix::Result<OwnedFd> {
    let fd = Errno::result(rc)?;
    // SAFETY: the syscall just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `/proc/sys` of a new, detached procfs instance, or the call that failed
/// and how: ENOSYS where the kernel lacks the mount API (before 5.2), EPERM
/// (or EACCES) where it is denied (a seccomp filter, a container).
pub fn private_proc_sys() -> Result<OwnedFd, (&'static str, Errno)> {
    let name = c"proc";
    // SAFETY: fsopen reads the NUL-terminated name; no memory is kept.
    let fs = owned(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) })
        .map_err(|e| ("fsopen", e))?;
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux argument.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            null,
            null,
            0,
        )
    };
    Errno::result(rc).map_err(|e| ("fsconfig", e))?;
    let attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    // SAFETY: fsmount takes a descriptor and two flag words.
    let mnt =
        owned(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
            .map_err(|e| ("fsmount", e))?;
    open_dir(Some(mnt.as_fd()), Path::new("sys")).map_err(|e| ("open sys of", e))
}

/// A directory reference, following no symlink on the way.
pub fn open_dir(dir: Option<BorrowedFd<'_>>, path: &Path) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::openat(
        dir.map(|d| d.as_raw_fd()),
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Whether `path` below `dir` exists (a final symlink is not followed).
pub fn exists_at(dir: BorrowedFd<'_>, path: &Path) -> nix::Result<bool> {
    match nix::sys::stat::fstatat(Some(dir.as_raw_fd()), path, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `data` in one `write(2)` to the existing file `path` below `dir`,
/// as sysctl files expect. The lookup happens now, so it resolves in the
/// calling task's namespaces whatever instance `dir` belongs to.
pub fn write_at(dir: BorrowedFd<'_>, path: &Path, data: &[u8]) -> nix::Result<()> {
    let raw = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        path,
        OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    let n = nix::unistd::write(&file, data)?;
    if n != data.len() {
        return Err(Errno::EIO);
    }
    Ok(())
}
