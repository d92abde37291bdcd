//! Mount operations on open descriptors, never on paths: what `pindir`
//! uses so that no step of a pin, an undo or a removal can be redirected
//! by a symlink or a rename after the object was opened and checked.
//!
//! A descriptor reaches the kernel as `/proc/self/fd/N`, a "magic link":
//! following it lands on exactly the mount and inode the descriptor holds,
//! without a second lookup of any name.

use super::files::fd_path;
use crate::error::{Error, PathContext, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

// From <linux/mount.h>; libc defines them for Android only.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const MOVE_MOUNT_SET_GROUP: libc::c_uint = 0x100;

/// Lazily detaches the mount whose root `fd` is (an `O_PATH` descriptor of a
/// pin opened without following symlinks). The final `N` of the magic link
/// must be followed, so no `UMOUNT_NOFOLLOW` here: the name was already
/// resolved, without following, when `fd` was opened.
pub fn detach_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    umount2(&fd_path(fd), MntFlags::MNT_DETACH).at("unmount (MNT_DETACH)", path)
}

/// Bind-mounts `source` (a namespace file) onto the opened target file.
/// `path` names the target.
pub fn bind_onto_fd(source: &Path, target: BorrowedFd<'_>, path: &Path) -> Result<()> {
    mount(
        Some(source),
        &fd_path(target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind mount the namespace onto", path)
}

/// Changes the propagation of the mount whose root `fd` is (not recursive).
pub fn set_propagation_fd(fd: BorrowedFd<'_>, flag: MsFlags, path: &Path) -> Result<()> {
    let op = match flag {
        MsFlags::MS_UNBINDABLE => "make unbindable",
        MsFlags::MS_PRIVATE => "make private",
        _ => "set mount propagation of",
    };
    mount(None::<&str>, &fd_path(fd), None::<&str>, flag, None::<&str>).at(op, path)
}

/// Mount id of the mount `fd` is on, and whether `fd` is that mount's root.
pub fn mount_id(fd: BorrowedFd<'_>, path: &Path) -> Result<(u64, bool)> {
    // SAFETY: statx writes into `stx`, a plain C struct we own; the empty
    // path with AT_EMPTY_PATH makes it look at `fd` itself.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    Errno::result(rc).at("statx", path)?;
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(Error::path("statx", path, Errno::ENOSYS));
    }
    let root = stx.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0
        && stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0;
    Ok((stx.stx_mnt_id, root))
}

/// A detached bind mount of the directory open at `fd` (`open_tree(2)`
/// with `OPEN_TREE_CLONE`, Linux 5.2), not recursive: below it the files
/// that mounts cover are visible, and as it belongs to no mount namespace,
/// nothing propagates. It vanishes on close unless attached.
pub fn clone_mount(fd: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd> {
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint;
    // SAFETY: open_tree reads the empty C string and returns a new fd.
    let raw = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    let raw = Errno::result(raw).at("open_tree (clone)", path)?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as i32) })
}

fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>, flags: libc::c_uint) -> nix::Result<()> {
    let flags = flags | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: both paths are empty C strings; the descriptors are borrowed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    Errno::result(rc).map(drop)
}

/// Attaches the detached mount `mount` on top of the directory open at `onto`.
/// `path` names the directory.
pub fn attach_mount(mount: BorrowedFd<'_>, onto: BorrowedFd<'_>, path: &Path) -> Result<()> {
    move_mount(mount, onto, 0).at("attach a mount onto", path)
}

/// Puts the private mount `to` back into the peer group and under the
/// master that `from` belongs to (`MOVE_MOUNT_SET_GROUP`).
/// `path` names `to`.
pub fn join_group_of(from: BorrowedFd<'_>, to: BorrowedFd<'_>, path: &Path) -> Result<()> {
    move_mount(from, to, MOVE_MOUNT_SET_GROUP).at("rejoin the peer group of", path)
}
