//! The syscall edge. Every call that changes kernel state, and every `unsafe`
//! block of the crate, lives under this module; the rest of the crate decides
//! *what* to do and calls these small functions to do it.

pub mod caps;
pub mod exec;
pub mod fdmount;
pub mod mountinfo;
pub mod pidfd;
pub mod process;
pub mod procfs;
pub mod proclinks;
pub mod sched;

use crate::error::{Error, PathContext, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{fstat, FileStat, Mode};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// `statfs.f_type` of the namespace filesystem.
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// `ioctl(2)` request returning the user namespace that owns a namespace.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

/// Refuses to run setuid or setgid (or with file capabilities): pinns
/// trusts its caller completely. The kernel's AT_SECURE says so without a
/// system call; the ids are read only to name them in the error.
pub fn refuse_setid() -> Result<()> {
    // SAFETY: getauxval only reads the auxiliary vector.
    if unsafe { libc::getauxval(libc::AT_SECURE) } == 0 {
        return Ok(());
    }
    let (uid, euid) = (nix::unistd::getuid(), nix::unistd::geteuid());
    let (gid, egid) = (nix::unistd::getgid(), nix::unistd::getegid());
    Err(Error::Refused(format!(
        "refusing to run setuid/setgid or with file capabilities (uid {uid}, euid {euid}, gid {gid}, egid {egid})"
    )))
}

pub fn unshare(flags: CloneFlags) -> Result<()> {
    nix::sched::unshare(flags).map_err(|errno| {
        // The kernel says "no space" when a namespace count limit is hit.
        let hint = match errno {
            Errno::ENOSPC | Errno::EUSERS => {
                " (a limit in /proc/sys/user/max_*_namespaces was reached)"
            }
            _ => "",
        };
        Error::call(format!("unshare({}){hint}", flag_names(flags)), errno)
    })
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

/// Writes `data` in one `write(2)` to a file that must already exist, as
/// `/proc` files expect.
pub fn write_existing_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let n = file.write(data)?;
    if n != data.len() {
        return Err(std::io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

fn openat_owned(
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

/// Opens a directory without following a final symlink.
pub fn open_dir_at(dir: Option<BorrowedFd<'_>>, name: &Path) -> nix::Result<OwnedFd> {
    openat_owned(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

pub fn mkdir_at(dir: Option<BorrowedFd<'_>>, name: &Path) -> nix::Result<()> {
    nix::sys::stat::mkdirat(
        dir.map(|d| d.as_raw_fd()),
        name,
        Mode::from_bits_truncate(0o755),
    )
}

/// A reference to whatever is at `name` (a symlink itself, not its target).
pub fn open_path_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<OwnedFd> {
    openat_owned(
        Some(dir),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

/// Creates `name` as a new empty file, failing if anything is there.
pub fn create_new_file_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    openat_owned(Some(dir), name, flags, Mode::from_bits_truncate(0o444))
}

pub fn unlink_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<()> {
    nix::unistd::unlinkat(
        Some(dir.as_raw_fd()),
        name,
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    )
}

pub fn stat_fd(fd: BorrowedFd<'_>) -> nix::Result<FileStat> {
    fstat(fd.as_raw_fd())
}

/// Whether the descriptor refers to a namespace file (an nsfs inode).
pub fn is_nsfs(fd: BorrowedFd<'_>) -> nix::Result<bool> {
    let st = nix::sys::statfs::fstatfs(fd)?;
    Ok(st.filesystem_type().0 as i64 == NSFS_MAGIC)
}

/// The path through which the kernel resolves an open descriptor; used as a
/// mount target so the mount lands on the inode we checked, not on whatever a
/// path lookup would find later.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Bind-mounts a namespace file onto the (already opened) target.
pub fn bind_mount(source: &Path, target: BorrowedFd<'_>, target_name: &Path) -> Result<()> {
    mount(
        Some(source),
        &fd_path(target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind mount the namespace onto", target_name)
}

/// Makes a directory a mount point of its own (a bind mount on itself).
pub fn self_bind(path: &Path) -> Result<()> {
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind mount onto itself", path)
}

/// Marks a mount unbindable (and so private): pinning a mount namespace is
/// only possible under a mount that does not propagate.
pub fn make_unbindable(path: &Path) -> Result<()> {
    mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_UNBINDABLE,
        None::<&str>,
    )
    .at("make unbindable", path)
}

/// Changes the propagation of every mount at and below `path`.
pub fn set_propagation_recursive(path: &Path, flag: MsFlags) -> Result<()> {
    mount(
        None::<&str>,
        path,
        None::<&str>,
        flag | MsFlags::MS_REC,
        None::<&str>,
    )
    .at("set mount propagation of", path)
}

/// Lazily detaches the mount at `path`, never following a final symlink.
pub fn detach(path: &Path) -> nix::Result<()> {
    umount2(path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW)
}

/// Unmounts only if nothing is using or mounted under the mount.
pub fn unmount_if_unused(path: &Path) -> nix::Result<()> {
    umount2(path, MntFlags::UMOUNT_NOFOLLOW)
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

/// Inode of the user namespace owning the namespace open at `fd`.
pub fn owner_userns_inode(fd: BorrowedFd<'_>) -> nix::Result<u64> {
    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor.
    let raw = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_USERNS) };
    let raw = Errno::result(raw)?;
    // SAFETY: the ioctl returned a fresh descriptor that we now own.
    let owner = unsafe { File::from_raw_fd(raw) };
    Ok(fstat(owner.as_raw_fd())?.st_ino)
}

/// Opens a namespace file for `ioctl(2)` or `setns(2)`, not following a
/// final symlink.
pub fn open_ns_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<OwnedFd> {
    openat_owned(
        Some(dir),
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
}

/// `lstat` of `name` relative to `dir`.
pub fn stat_at_nofollow(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<FileStat> {
    nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

/// Lazily detaches the mount at `name` in the directory open at `dir`. The
/// path goes through the descriptor, so no symlink below DIR is followed.
pub fn detach_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<()> {
    detach(&fd_path(dir).join(name))
}

pub fn rmdir_at(dir: BorrowedFd<'_>, name: &Path) -> nix::Result<()> {
    nix::unistd::unlinkat(
        Some(dir.as_raw_fd()),
        name,
        nix::unistd::UnlinkatFlags::RemoveDir,
    )
}

/// The cgroup filesystem version of the directory open at `fd`, if it is on one.
pub fn cgroup_version(fd: BorrowedFd<'_>) -> nix::Result<Option<u8>> {
    const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let magic = nix::sys::statfs::fstatfs(fd)?.filesystem_type().0 as i64;
    Ok(match magic {
        CGROUP_SUPER_MAGIC => Some(1),
        CGROUP2_SUPER_MAGIC => Some(2),
        _ => None,
    })
}

/// Moves the calling (child) process into a mount namespace of its own whose
/// mounts propagate nowhere, so mounts it makes are invisible to the host
/// and die with it.
pub fn private_mount_namespace() -> Result<()> {
    unshare(CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .at("make private", "/")
}

/// Bind-mounts the directory open at `fd` onto itself without its submounts:
/// below the new mount, the files that mounts covered are visible again.
/// Only for a private mount namespace (see [`private_mount_namespace`]).
pub fn uncover(fd: BorrowedFd<'_>, name: &Path) -> Result<()> {
    let path = fd_path(fd);
    mount(
        Some(&path),
        &path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind mount without submounts", name)
}

/// A detached copy of the mount the directory open at `fd` is in, rooted
/// at that directory, without its submounts (`open_tree(OPEN_TREE_CLONE)`,
/// Linux 5.2): below it the files that mounts cover are visible, as with
/// [`uncover`], but the copy belongs to no mount namespace, so nothing
/// propagates and no child or `unshare` is needed. It vanishes on close.
pub fn uncovered_tree(fd: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_long = 1;
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_long | libc::AT_EMPTY_PATH as libc::c_long;
    // SAFETY: the path is a NUL-terminated empty string; the kernel returns a
    // new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    let raw = Errno::result(raw)?;
    // SAFETY: open_tree just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as i32) })
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
    if !is_nsfs(fd).at("statfs", path)? {
        return Err(Error::path("statfs", path, Errno::ENOTSUP));
    }
    let dev = stat_fd(fd).at("stat", path)?.st_dev;
    Ok(*DEV.get_or_init(|| dev))
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

/// One address of a network interface, from `getifaddrs(3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub interface: String,
    pub up: bool,
    pub loopback: bool,
    /// `None` for the link-level entry of an interface.
    pub address: Option<(std::net::IpAddr, u8)>,
}

/// Interfaces and addresses of the current network namespace.
pub fn interface_addresses() -> Result<Vec<IfAddr>> {
    use nix::net::if_::InterfaceFlags;
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| Error::call("getifaddrs", e))?;
    Ok(addrs
        .map(|a| IfAddr {
            up: a.flags.contains(InterfaceFlags::IFF_UP),
            loopback: a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            address: ip_and_prefix(a.address.as_ref(), a.netmask.as_ref()),
            interface: a.interface_name,
        })
        .collect())
}

fn ip_and_prefix(
    addr: Option<&nix::sys::socket::SockaddrStorage>,
    mask: Option<&nix::sys::socket::SockaddrStorage>,
) -> Option<(std::net::IpAddr, u8)> {
    let addr = addr?;
    if let Some(v4) = addr.as_sockaddr_in() {
        let prefix = mask
            .and_then(|m| m.as_sockaddr_in())
            .map_or(32, |m| m.ip().to_bits().count_ones() as u8);
        return Some((v4.ip().into(), prefix));
    }
    let v6 = addr.as_sockaddr_in6()?;
    let prefix = mask
        .and_then(|m| m.as_sockaddr_in6())
        .map_or(128, |m| m.ip().to_bits().count_ones() as u8);
    Some((v6.ip().into(), prefix))
}

/// SIGINT and SIGTERM, blocked so that they stay pending until
/// [`StopSignals::wait`] takes them: a periodic sweep finishes the sweep in
/// progress, then sleeps in the kernel until the next one is due or a stop
/// is asked for, without waking up in between.
pub struct StopSignals(nix::sys::signal::SigSet);

impl StopSignals {
    /// Blocks SIGINT and SIGTERM for this (single-threaded) process. Commands
    /// it runs (crictl) start with an empty mask: the standard library resets
    /// it in the child.
    pub fn block() -> Result<StopSignals> {
        use nix::sys::signal::{SigSet, Signal};
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        set.thread_block()
            .map_err(|e| Error::call("block SIGINT and SIGTERM", e))?;
        Ok(StopSignals(set))
    }

    /// Waits up to `timeout`; true when SIGINT or SIGTERM arrived (also
    /// before the wait began), false when the time is up.
    pub fn wait(&self, timeout: std::time::Duration) -> Result<bool> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let ts = libc::timespec {
                tv_sec: left.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            };
            // SAFETY: the set and timespec are valid for the call; no siginfo
            // is asked for.
            let got = unsafe { libc::sigtimedwait(self.0.as_ref(), std::ptr::null_mut(), &ts) };
            if got > 0 {
                return Ok(true);
            }
            match Errno::last() {
                Errno::EAGAIN => return Ok(false),
                // Another signal (SIGCHLD, a stop and continue): wait on.
                Errno::EINTR => continue,
                errno => return Err(Error::call("wait for SIGINT or SIGTERM", errno)),
            }
        }
    }
}
