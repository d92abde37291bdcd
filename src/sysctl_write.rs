//! Writing a pod's sysctls inside its new namespaces: through the host's
//! `/proc/sys`, or through a private procfs instance (`sys::procfs`) where
//! that is cheaper. Sysctl lookups resolve against the namespaces of the
//! task that makes them, at the time it makes them, whichever instance they
//! go through; only their cost differs.
//!
//! The rule, and why. In the host's procfs, every namespace that looked a
//! sysctl up adds one dentry of the same name under the shared directory
//! (`/proc/sys/net/ipv4`, `/proc/sys/kernel`), and a lookup from a new
//! namespace walks them all (the C helper, which always writes there, goes
//! from 1.1 ms per pin on an empty node to 3.3 ms with 1,000 live pods and
//! 23 ms with 5,000). A private instance has dentries of its own, so it is
//! flat, but making and releasing one costs about 100 us (superblock,
//! fsmount, the detached mount's release waiting for an RCU grace period,
//! first lookups in a fresh instance). Writing two keys from a new netns
//! (lower quartiles of 400 runs, 2 loaded CPUs) took 54 us through the host's `/proc/sys` with no live pod, 106 us
//! with 64, 167 us with 128, 320 us with 256; 150-160 us through a private
//! instance at any of those densities: the crossover is near 110 live pods.
//! So: with fewer than [`DENSE_PODS`] live pins in `DIR/<type>ns` of the
//! namespaces whose keys are written, the host's `/proc/sys` (the C
//! helper's cost); from there on the private instance. Our own sparse pins
//! thus grow the host's chains by fewer than `DENSE_PODS` entries, which
//! bounds what a key costs. docs/sysctls.md, "Where the values are written".

use crate::error::Result;
use crate::ns::NsKind;
use crate::sys::{self, procfs};
use crate::sysctl::{Sysctl, SysctlError, Target};
use nix::errno::Errno;
use std::os::fd::{AsFd, OwnedFd};

/// Live pins from which the private procfs instance is cheaper than the
/// host's `/proc/sys` (measured for two keys: see the module doc).
pub const DENSE_PODS: usize = 128;

/// Where a pin's sysctl files are opened.
#[derive(Debug)]
pub enum ProcSys {
    /// `/proc/sys` of the host's procfs, by absolute path.
    Host,
    /// `/proc/sys` of a private, detached procfs instance.
    Private(OwnedFd),
}

impl ProcSys {
    /// The cheaper way for a node with `live_pins` pins of the namespace
    /// types whose keys are written. A kernel without the mount API, or one
    /// that denies it, gets the host's `/proc/sys` at any density.
    pub fn for_density(live_pins: usize) -> Result<ProcSys> {
        if live_pins < DENSE_PODS {
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

/// The namespace types whose pins measure how long the host's chains are
/// for these keys: net for `net.*`, ipc for `kernel.*` and `fs.mqueue.*`
/// (the uts keys are set by syscall, not through `/proc/sys`).
pub fn density_kinds(sysctls: &[Sysctl]) -> impl Iterator<Item = NsKind> + '_ {
    [NsKind::Net, NsKind::Ipc].into_iter().filter(|kind| {
        sysctls
            .iter()
            .any(|s| s.namespace() == *kind && matches!(s.target(), Target::File(_)))
    })
}
