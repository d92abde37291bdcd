//! Writing a pod's sysctls: through a private procfs instance made before
//! unshare (see [`crate::sys::procfs`]), or the host's `/proc/sys` where the
//! mount API is missing or denied. The same directory serves the existence
//! checks before any change and the writes inside the new namespaces:
//! sysctl lookups resolve against the namespaces of the task that makes
//! them, at the time it makes them.

use crate::error::{Error, PathContext, Result};
use crate::sys::{self, procfs};
use crate::sysctl::{Sysctl, SysctlError, Target};
use nix::errno::Errno;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

const PROC_SYS: &str = "/proc/sys";

/// An open `/proc/sys` directory (which one shows in an strace only:
/// both behave alike).
#[derive(Debug)]
pub struct ProcSys {
    dir: OwnedFd,
}

impl ProcSys {
    /// A private instance when the kernel lets us make one, else the
    /// host's `/proc/sys`.
    pub fn open() -> Result<ProcSys> {
        match procfs::private_proc_sys() {
            Ok(dir) => Ok(ProcSys { dir }),
            Err((_, Errno::ENOSYS | Errno::EPERM | Errno::EACCES)) => Self::open_host(),
            Err((call, e)) => Err(Error::call(format!("{call} a private procfs instance"), e)),
        }
    }

    fn open_host() -> Result<ProcSys> {
        let dir = procfs::open_dir(None, Path::new(PROC_SYS)).at("open", PROC_SYS)?;
        Ok(ProcSys { dir })
    }

    /// Refuses a key the running kernel does not have, before any change.
    pub fn check_exists(&self, sysctl: &Sysctl) -> Result<()> {
        let Target::File(path) = sysctl.target() else {
            return Ok(());
        };
        match procfs::exists_at(self.dir.as_fd(), &path) {
            Ok(true) => Ok(()),
            Ok(false) => Err(SysctlError::Unknown(sysctl.key()).into()),
            Err(e) => Err(Error::path("look up sysctl", shown(&path), e)),
        }
    }

    /// Writes the value in the calling thread's namespaces.
    pub fn apply(&self, sysctl: &Sysctl) -> Result<()> {
        match sysctl.target() {
            Target::Hostname => sys::namespace::set_hostname(sysctl.value()),
            Target::Domainname => sys::namespace::set_domainname(sysctl.value()),
            Target::File(path) => {
                procfs::write_at(self.dir.as_fd(), &path, sysctl.value().as_bytes())
                    .at("write sysctl", shown(&path))
            }
        }
    }
}

/// The path as the user knows it, for messages.
fn shown(relative: &Path) -> PathBuf {
    Path::new(PROC_SYS).join(relative)
}
