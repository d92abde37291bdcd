//! `mount(2)` on this process's own mount tree: the propagation of `/`, a
//! private mount namespace for a child, and uncovering what mounts hide.
//! (Mounts of pins act on descriptors: see [`super::fdmount`].)

use super::files::fd_path;
use super::namespace::unshare;
use crate::error::{PathContext, Result};
use nix::mount::{mount, MsFlags};
use nix::sched::CloneFlags;
use std::os::fd::BorrowedFd;
use std::path::Path;

/// Changes the propagation of every mount at and below `path`.
pub fn set_propagation_recursive(path: &Path, flag: MsFlags) -> Result<()> {
    let flags = flag | MsFlags::MS_REC;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .at("set mount propagation of", path)
}

/// Moves the calling (child) process into a mount namespace of its own whose
/// mounts propagate nowhere, so mounts it makes are invisible to the host
/// and die with it.
pub fn private_mount_namespace() -> Result<()> {
    unshare(CloneFlags::CLONE_NEWNS)?;
    let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>).at("make private", "/")
}

/// Bind-mounts the directory open at `fd` onto itself without its submounts:
/// below the new mount, the files that mounts covered are visible again.
/// Only for a private mount namespace (see [`private_mount_namespace`]);
/// where the kernel has `open_tree`, [`super::fdmount::clone_mount`] does
/// the same with no namespace at all.
pub fn uncover(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let magic = fd_path(fd);
    mount(
        Some(&magic),
        &magic,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind mount without submounts", path)
}
