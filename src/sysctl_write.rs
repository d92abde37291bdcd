//! Writing a pod's sysctls inside its new namespaces: through a private
//! procfs instance (`sys::procfs`), or through the host's `/proc/sys` where
//! the kernel will not make one. Sysctl lookups resolve against the
//! namespaces of the task that makes them, at the time it makes them,
//! whichever instance they go through; only their cost differs.
//!
//! Why the private instance, at any density. In the host's procfs, every
//! namespace that looked a sysctl up keeps one dentry of the same name under
//! the shared directory (`/proc/sys/net`, `/proc/sys/kernel`), and a lookup
//! from a new namespace walks them all: with 5,000 live pods the C helper,
//! which always writes there, takes 23 ms per pin against 1.1 ms on an empty
//! node. A private instance has dentries of its own, so it is flat, for
//! about 70 us more than the host's `/proc/sys` on an empty node
//! (superblock, fsmount, the detached mount's release waiting for an RCU
//! grace period). Which of the host's namespaces left dentries there is not
//! something the kernel tells: an earlier rule counted our own pins in
//! `DIR/<type>ns` and took the host's `/proc/sys` below 128 of them, and a
//! node whose 5,000 pods were pinned elsewhere (another DIR, `ip netns`, a
//! CNI plugin's writes) then cost 27 ms per pin. docs/sysctls.md, "Where the
//! values are written".

use crate::error::Result;
use crate::sys::{self, procfs};
use crate::sysctl::{Sysctl, SysctlError, Target};
use nix::errno::Errno;
use std::os::fd::{AsFd, OwnedFd};

/// Where a pin's sysctl files are opened.
#[derive(Debug)]
pub enum ProcSys {
    /// `/proc/sys` of the host's procfs, by absolute path.
    Host,
    /// `/proc/sys` of a private, detached procfs instance.
    Private(OwnedFd),
}

impl ProcSys {
    /// Where `sysctls` are written: a private instance if any of them is a
    /// file under `/proc/sys`. A kernel without the mount API, or one that
    /// denies it, gets the host's `/proc/sys`.
    pub fn for_keys(sysctls: &[Sysctl]) -> Result<ProcSys> {
        if !sysctls
            .iter()
            .any(|s| matches!(s.target(), Target::File(_)))
        {
            return Ok(ProcSys::Host);
        }
        match procfs::private_proc_sys() {
            Ok(dir) => Ok(ProcSys::Private(dir)),
            Err(e)
                if matches!(
                    e.errno(),
                    Some(Errno::ENOSYS | Errno::EPERM | Errno::EACCES)
                ) =>
            {
                Ok(ProcSys::Host)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the value in the calling thread's namespaces. A key missing
    /// there is refused by name: nothing has been made yet that could be
    /// left behind (the namespaces die with this process).
    pub fn apply(&self, sysctl: &Sysctl) -> Result<()> {
        let path = match sysctl.target() {
            Target::Hostname => return sys::namespace::set_hostname(sysctl.value()),
            Target::Domainname => return sys::namespace::set_domainname(sysctl.value()),
            Target::File(path) => path,
        };
        let dir = match self {
            ProcSys::Host => None,
            ProcSys::Private(dir) => Some(dir.as_fd()),
        };
        match procfs::write_sysctl(dir, &path, sysctl.value().as_bytes()) {
            Err(e)
                if matches!(
                    e.errno(),
                    Some(Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG)
                ) =>
            {
                Err(SysctlError::Unknown {
                    key: sysctl.key(),
                    ns: sysctl.namespace(),
                }
                .into())
            }
            other => other,
        }
    }
}
