//! Namespace links under `/proc`, read through one descriptor of `/proc`.
//!
//! Finding who lives in a namespace means looking at every task on the
//! node, so this is the one loop whose cost grows with the node. `readlink`
//! of `/proc/<pid>/task/<tid>/ns/<type>` answers with the namespace's inode
//! as text ("net:[4026531840]"); `stat` would also make the kernel open a
//! path to the namespace to stat it, about twice the time per task.

use super::files::open_dir_at;
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

pub struct ProcDir(OwnedFd);

impl ProcDir {
    pub fn open() -> crate::error::Result<ProcDir> {
        let proc = Path::new("/proc");
        open_dir_at(None, proc, proc).map(ProcDir)
    }

    /// The link text of `/proc/<pid>/task/<tid>/ns/<name>`; `None` once the
    /// task is gone or where its links may not be read.
    pub fn ns_link(&self, pid: i32, tid: i32, name: &str) -> Option<OsString> {
        let link = format!("{pid}/task/{tid}/ns/{name}");
        nix::fcntl::readlinkat(Some(self.0.as_raw_fd()), &*link).ok()
    }

    /// Whether `pid` is a kernel thread (or a process with nothing left
    /// alive): `/proc/<pid>/exe` reads ENOENT, as it does for a kernel
    /// thread and for a thread-group leader that has exited, and the
    /// process has a single task (`/proc/<pid>/task` links 2 + threads), so
    /// no worker outlives a gone leader. Two calls, where reading its tasks
    /// and their links would take four and more.
    pub fn is_kernel_thread(&self, pid: i32) -> bool {
        let dir = Some(self.0.as_raw_fd());
        if !matches!(
            nix::fcntl::readlinkat(dir, &*format!("{pid}/exe")),
            Err(Errno::ENOENT)
        ) {
            return false;
        }
        let task = format!("{pid}/task");
        matches!(
            nix::sys::stat::fstatat(dir, &*task, AtFlags::AT_SYMLINK_NOFOLLOW),
            Ok(st) if st.st_nlink == 3
        )
    }
}
