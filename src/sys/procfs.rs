//! Sysctl files: the host's `/proc/sys`, or a private procfs instance made
//! with the new mount API; and a cheap count of a directory's entries, the
//! density signal that chooses between them (`crate::sysctl_write`).
//!
//! A private instance is created detached (`fsmount`, never attached
//! anywhere in the tree) and goes away with its last descriptor.

use crate::bytes;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

const PROC_SYS: &str = "/proc/sys";
/// The largest getdents64 record: 19 bytes of header, a 255-byte name and
/// its NUL, padded to 8.
pub const MAX_RECORD: usize = 280;

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

/// How many entries (other than `.` and `..`) the directory `dir` has,
/// counted up to `limit`: reads no more of a large directory than it takes.
/// `dir` must be open for reading; `path` only names it in an error.
pub fn count_entries(dir: BorrowedFd<'_>, path: &Path, limit: usize) -> Result<usize> {
    // 8 KiB holds 146 entries of CRI-O's 36-byte pin names: one call up to
    // that limit. (The kernel's cost grows with what it returns: ~20 us for
    // a full buffer on tmpfs here.) Left uninitialised: zeroing it would
    // cost more than reading a small directory, and touch two stack pages.
    let mut buf = std::mem::MaybeUninit::<[u64; 1024]>::uninit();
    let mut count = 0;
    while count < limit {
        // SAFETY: the kernel writes at most the given length into `buf`.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                std::mem::size_of_val(&buf),
            )
        };
        let len = Errno::result(rc)
            .map_err(|e| Error::path("read directory", PathBuf::from(path), e))?
            as usize;
        if len == 0 {
            break;
        }
        // SAFETY: the kernel filled the first `len` bytes (at most the
        // buffer's size) with records.
        let records = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        count += entries_in(records);
        // The kernel fills the buffer while the next record fits (tmpfs,
        // ext4): room left for the largest one means the end was reached,
        // and saves the call that would return 0. (A filesystem that
        // returns less early only makes the count low: the host path.)
        if len + MAX_RECORD <= std::mem::size_of_val(&buf) {
            break;
        }
    }
    Ok(count.min(limit))
}

/// Entries in a getdents64 result, `.` and `..` not counted. A record:
/// d_ino (8), d_off (8), d_reclen (2), d_type (1), the name, NUL-terminated
/// and padded to 8 bytes. Also the fast pin path's, before the C library
/// starts: no indexing that could panic, no libc (`crate::bytes`).
pub fn entries_in(records: &[u8]) -> usize {
    let mut rest = records;
    let mut count = 0;
    while let (Some(&lo), Some(&hi)) = (rest.get(16), rest.get(17)) {
        let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
        let (Some(record), Some(after)) = (rest.get(..reclen), rest.get(reclen..)) else {
            break;
        };
        if reclen == 0 {
            break;
        }
        let name = bytes::text_up_to_nul(record.get(19..).unwrap_or_default());
        if !bytes::eq(name, b".") && !bytes::eq(name, b"..") {
            count += 1;
        }
        rest = after;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_entries_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let open = || std::fs::File::open(dir.path()).unwrap();
        assert_eq!(count_entries(open().as_fd(), dir.path(), 10).unwrap(), 0);
        for i in 0..300 {
            std::fs::write(dir.path().join(format!("{i:036}")), "").unwrap();
        }
        // 300 entries of 36-byte names take three reads of the buffer.
        assert_eq!(
            count_entries(open().as_fd(), dir.path(), 1000).unwrap(),
            300
        );
        assert_eq!(count_entries(open().as_fd(), dir.path(), 64).unwrap(), 64);
    }

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
