//! Namespace links under `/proc`, read through one descriptor of `/proc`.
//!
//! Finding who lives in a namespace means looking at every process on the
//! node, so this is the one loop whose cost grows with the node. `readlink`
//! of `/proc/<pid>/ns/<type>` answers with the namespace's inode as text
//! ("net:[4026531840]"); `stat` would also make the kernel open a path to
//! the namespace to stat it, about twice the time per process.

use super::open_dir_at;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

pub struct ProcDir(OwnedFd);

impl ProcDir {
    pub fn open() -> nix::Result<ProcDir> {
        open_dir_at(None, Path::new("/proc")).map(ProcDir)
    }

    /// The link text of `/proc/<pid>/ns/<name>`; `None` once the process is
    /// gone or where its links may not be read (a kernel thread never fails
    /// here: it simply lives in the initial namespaces).
    pub fn ns_link(&self, pid: i32, name: &str) -> Option<OsString> {
        nix::fcntl::readlinkat(Some(self.0.as_raw_fd()), &*format!("{pid}/ns/{name}")).ok()
    }

    /// Whether the process runs a program: `/proc/<pid>/exe` reads ENOENT
    /// for a kernel thread (and for a leader that has exited). Kernel
    /// threads live in the initial namespaces, never in a pod's, and are
    /// most of the processes on a many-CPU node: one look here spares the
    /// look at each of their namespace links.
    pub fn runs_program(&self, pid: i32) -> bool {
        let exe = format!("{pid}/exe");
        !matches!(
            nix::fcntl::readlinkat(Some(self.0.as_raw_fd()), &*exe),
            Err(nix::errno::Errno::ENOENT)
        )
    }
}
