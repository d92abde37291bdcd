//! Namespaces: `unshare(2)`, `setns(2)`, the owner of a namespace
//! (`ioctl(NS_GET_USERNS)`), whether a file is one (`fstatfs(2)` for nsfs),
//! and the names of a UTS namespace (`sethostname(2)`, `setdomainname(2)`,
//! `uname(2)`).

use crate::error::{Error, PathContext, Result};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::stat::fstat;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::path::Path;

/// `statfs.f_type` of the namespace filesystem.
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// `ioctl(2)` request returning the user namespace that owns a namespace.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

pub fn unshare(flags: CloneFlags) -> Result<()> {
    nix::sched::unshare(flags).map_err(|errno| unshare_error(flags, errno))
}

/// What a failed `unshare(flags)` says (also for the fast pin path's).
pub fn unshare_error(flags: CloneFlags, errno: Errno) -> Error {
    // The kernel says "no space" when a namespace count limit is hit.
    let hint = match errno {
        Errno::ENOSPC | Errno::EUSERS => {
            " (a limit in /proc/sys/user/max_*_namespaces was reached)"
        }
        _ => "",
    };
    Error::call(format!("unshare({}){hint}", flag_names(flags)), errno)
}

pub fn setns(fd: BorrowedFd<'_>, flags: CloneFlags, path: &Path) -> Result<()> {
    nix::sched::setns(fd, flags).at("join namespace", path)
}

fn flag_names(flags: CloneFlags) -> String {
    crate::ns::NsKind::ALL
        .iter()
        .filter(|k| flags.contains(k.clone_flag()))
        .map(|k| k.proc_name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Inode of the user namespace owning the namespace open at `fd`.
pub fn owner_userns_inode(fd: BorrowedFd<'_>, path: &Path) -> Result<u64> {
    let op = "find the owner of";
    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor.
    let raw = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_USERNS) };
    let raw = Errno::result(raw).at(op, path)?;
    // SAFETY: the ioctl returned a fresh descriptor that we now own.
    let owner = unsafe { File::from_raw_fd(raw) };
    Ok(fstat(owner.as_raw_fd()).at(op, path)?.st_ino)
}

/// Whether the descriptor refers to a namespace file (an nsfs inode).
pub fn is_nsfs(fd: BorrowedFd<'_>, path: &Path) -> Result<bool> {
    let st = nix::sys::statfs::fstatfs(fd).at("statfs", path)?;
    Ok(st.filesystem_type().0 as i64 == NSFS_MAGIC)
}

/// The device number of the namespace filesystem. The kernel has a single
/// nsfs instance, so a file on this device is a namespace: one `lstat` per
/// pin path tells it, where open + `fstatfs` + close took three calls.
pub fn nsfs_dev() -> Result<u64> {
    static DEV: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    if let Some(dev) = DEV.get() {
        return Ok(*dev);
    }
    let path = Path::new("/proc/self/ns/net");
    let file = File::open(path).at("open", path)?;
    let fd = std::os::fd::AsFd::as_fd(&file);
    if !is_nsfs(fd, path)? {
        return Err(Error::path("statfs", path, Errno::ENOTSUP));
    }
    let dev = super::files::stat_fd(fd, path)?.st_dev;
    Ok(*DEV.get_or_init(|| dev))
}

pub fn set_hostname(name: &str) -> Result<()> {
    nix::unistd::sethostname(name).map_err(|e| Error::call("set hostname (kernel.hostname)", e))
}

pub fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`, which outlives the call.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(rc)
        .map(drop)
        .map_err(|e| Error::call("set domainname (kernel.domainname)", e))
}

/// Hostname and domainname of the current UTS namespace, as bytes: a pod
/// may set any.
pub fn uts_names() -> Result<(Vec<u8>, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let uts = nix::sys::utsname::uname().map_err(|e| Error::call("uname", e))?;
    Ok((
        uts.nodename().as_bytes().to_vec(),
        uts.domainname().as_bytes().to_vec(),
    ))
}
