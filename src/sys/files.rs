//! Files relative to a directory descriptor: `openat(2)`, `mkdirat(2)`,
//! `unlinkat(2)`, `fstat(2)`/`fstatat(2)`, `fstatfs(2)` of a cgroup
//! directory, `flock(2)`, and the one-`write(2)` of a `/proc` file. No final
//! symlink is followed unless the function says so.
//!
//! A `*_at(dir, dir_path, name)` function names `dir_path/name` in its
//! error, joined only when there is one: these run per pin path.

use crate::error::{Error, PathContext, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, FileStat, Mode};
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The path through which the kernel resolves an open descriptor; used as a
/// mount target so the mount lands on the inode we checked, not on whatever a
/// path lookup would find later.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

pub(super) fn openat_owned(
    dir: Option<BorrowedFd<'_>>,
    name: &Path,
    flags: OFlag,
    mode: Mode,
) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::openat(
        dir.map(|d| d.as_raw_fd()),
        name,
        flags | OFlag::O_CLOEXEC,
        mode,
    )?;
    // SAFETY: openat just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Opens a directory without following a final symlink. `path` names it in
/// the error (as in every function here that takes one).
pub fn open_dir_at(dir: Option<BorrowedFd<'_>>, name: &Path, path: &Path) -> Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
    openat_owned(dir, name, flags, Mode::empty()).at("open directory", path)
}

/// Creates a directory (mode 0755); `Ok(false)` if something is there
/// already, the usual case once DIR is in use, answered without making an
/// error.
pub fn mkdir_at(dir: Option<BorrowedFd<'_>>, name: &Path, path: &Path) -> Result<bool> {
    let dir = dir.map(|d| d.as_raw_fd());
    match nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        Err(errno) => Err(Error::path("create directory", path, errno)),
    }
}

/// The error of a `*_at` call, naming `dir_path/name`.
fn at_error<'a>(
    op: &'static str,
    dir_path: &'a Path,
    name: &'a Path,
) -> impl FnOnce(Errno) -> Error + 'a {
    move |errno| Error::path(op, dir_path.join(name), errno)
}

/// A reference to whatever is at `name` (a symlink itself, not its target);
/// `None` if nothing is there.
pub fn open_path_at(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<Option<OwnedFd>> {
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW;
    match openat_owned(Some(dir), name, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(at_error("open", dir_path, name)(errno)),
    }
}

/// Opens a namespace file for `ioctl(2)` or `setns(2)`, not following a
/// final symlink.
pub fn open_ns_at(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW;
    openat_owned(Some(dir), name, flags, Mode::empty()).map_err(at_error("open", dir_path, name))
}

/// Creates `name` as a new empty file, failing (EEXIST) if anything is there.
pub fn create_new_file_at(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    openat_owned(Some(dir), name, flags, Mode::from_bits_truncate(0o444)).map_err(at_error(
        "create file",
        dir_path,
        name,
    ))
}

pub fn unlink_at(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<()> {
    let flag = nix::unistd::UnlinkatFlags::NoRemoveDir;
    nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, flag)
        .map_err(at_error("remove", dir_path, name))
}

pub fn rmdir_at(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<()> {
    let flag = nix::unistd::UnlinkatFlags::RemoveDir;
    nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, flag)
        .map_err(at_error("rmdir", dir_path, name))
}

pub fn stat_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<FileStat> {
    fstat(fd.as_raw_fd()).at("stat", path)
}

/// When the file was last modified, as `stat` reports it (`None` before
/// 1970 or beyond what `SystemTime` holds).
pub fn mtime(st: &FileStat) -> Option<std::time::SystemTime> {
    let secs = u64::try_from(st.st_mtime).ok()?;
    let nanos = u32::try_from(st.st_mtime_nsec).ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

/// `lstat` of `name` relative to `dir`.
pub fn stat_at_nofollow(dir: BorrowedFd<'_>, dir_path: &Path, name: &Path) -> Result<FileStat> {
    let flag = nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW;
    nix::sys::stat::fstatat(Some(dir.as_raw_fd()), name, flag)
        .map_err(at_error("stat", dir_path, name))
}

/// The cgroup filesystem version of the directory open at `fd`, if it is on one.
pub fn cgroup_version(fd: BorrowedFd<'_>, path: &Path) -> Result<Option<u8>> {
    const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let st = nix::sys::statfs::fstatfs(fd).at("statfs", path)?;
    Ok(match st.filesystem_type().0 as i64 {
        CGROUP_SUPER_MAGIC => Some(1),
        CGROUP2_SUPER_MAGIC => Some(2),
        _ => None,
    })
}

/// Writes `data` in one `write(2)` to a file that must already exist, as
/// `/proc` files expect.
pub fn write_existing_file(path: &Path, data: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .at("open", path)?;
    match file.write(data).at("write", path)? {
        n if n == data.len() => Ok(()),
        _ => Err(Error::path("write", path, Errno::EIO)),
    }
}

/// An exclusive `flock(2)` on a directory, released when the descriptor is
/// closed on drop (closing cannot fail to release it, unlike an explicit
/// unlock).
#[derive(Debug)]
pub struct DirLock(#[allow(dead_code)] OwnedFd);

/// Takes an exclusive lock on a directory, waiting for it.
pub fn lock_dir(fd: OwnedFd, path: &Path) -> Result<DirLock> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) };
        match Errno::result(rc) {
            Ok(_) => return Ok(DirLock(fd)),
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::path("lock", path, errno)),
        }
    }
}
