//! Sysctl files: the host's `/proc/sys`, or a private procfs instance made
//! with the new mount API (which one: `crate::sysctl_write`).
//!
//! A private instance is created detached (`fsmount`, never attached
//! anywhere in the tree) and goes away with its last descriptor.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

const PROC_SYS: &str = "/proc/sys";
// From <linux/mount.h>.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const MOUNT_ATTR_NOEXEC: libc::c_uint = 0x8;

fn owned(rc: libc::c_long, op: &'static str) -> Result<OwnedFd> {
    let fd = Errno::result(rc).map_err(|e| Error::call(op, e))?;
    // SAFETY: the syscall just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `/proc/sys` of a new, detached procfs instance. The errno says why not:
/// ENOSYS where the kernel lacks the mount API (before 5.2), EPERM (or
/// EACCES) where it is denied (a seccomp filter, a container).
pub fn private_proc_sys() -> Result<OwnedFd> {
    let name = c"proc";
    // SAFETY: fsopen reads the NUL-terminated name; no memory is kept.
    let rc = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
    let fs = owned(rc, "fsopen a private procfs instance")?;
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
    Errno::result(rc).map_err(|e| Error::call("fsconfig a private procfs instance", e))?;
    let attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    // SAFETY: fsmount takes a descriptor and two flag words.
    let rc = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    let mnt = owned(rc, "fsmount a private procfs instance")?;
    let raw = nix::fcntl::openat(
        Some(mnt.as_fd().as_raw_fd()),
        "sys",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::call("open sys of a private procfs instance", e))?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Writes `data` in one `write(2)`, as sysctl files expect, to the existing
/// file `relative` below `/proc/sys`: the host's (`dir` None) or the one
/// `dir` refers to. The lookup happens now, so it resolves in the calling
/// task's namespaces whatever instance it goes through. Errors name the
/// file as `/proc/sys/...`.
pub fn write_sysctl(dir: Option<BorrowedFd<'_>>, relative: &Path, data: &[u8]) -> Result<()> {
    let shown = Path::new(PROC_SYS).join(relative);
    let fail = |errno| Error::path("write sysctl", shown.clone(), errno);
    let (at, path) = match dir {
        Some(dir) => (Some(dir.as_raw_fd()), relative),
        None => (None, shown.as_path()),
    };
    let raw = nix::fcntl::openat(
        at,
        path,
        OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    let file = unsafe { OwnedFd::from_raw_fd(raw) };
    match nix::unistd::write(&file, data) {
        Ok(n) if n == data.len() => Ok(()),
        Ok(_) => Err(fail(Errno::EIO)),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_names_the_file_under_proc_sys() {
        let err = write_sysctl(None, Path::new("net/ipv4/not_a_key"), b"1").unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENOENT));
        assert!(
            err.to_string().contains("/proc/sys/net/ipv4/not_a_key"),
            "{err}"
        );
    }
}
