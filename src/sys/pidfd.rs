//! A process held by a pidfd (Linux 5.3): unlike a PID, which the kernel
//! hands to a new process once the old one is reaped, a pidfd keeps naming
//! the one process it was opened for.

use crate::error::{Error, Result};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct PidFd {
    fd: OwnedFd,
    pid: i32,
}

impl PidFd {
    /// ESRCH: no process `pid`.
    pub fn open(pid: i32) -> Result<PidFd> {
        // SAFETY: plain integer arguments; the kernel returns a new
        // descriptor (close-on-exec) or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let raw = Errno::result(raw).map_err(|e| Error::call(format!("pidfd_open({pid})"), e))?;
        // SAFETY: pidfd_open just returned this descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        Ok(PidFd { fd, pid })
    }

    /// Whether the process has not been reaped yet (signal 0 only checks).
    /// Its PID cannot have been reused while this holds.
    pub fn is_alive(&self) -> Result<bool> {
        // SAFETY: signal 0 with no siginfo sends nothing.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        match Errno::result(rc) {
            Ok(_) => Ok(true),
            Err(Errno::ESRCH) => Ok(false),
            Err(e) => Err(Error::call(
                format!("pidfd_send_signal({}, 0)", self.pid),
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_sees_its_process_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let held = PidFd::open(child.id() as i32).unwrap();
        assert!(held.is_alive().unwrap());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!held.is_alive().unwrap());
        let gone = PidFd::open(i32::MAX).err().unwrap();
        assert_eq!(gone.errno(), Some(Errno::ESRCH));
        assert_eq!(
            gone.to_string(),
            format!("pidfd_open({}): ESRCH: No such process", i32::MAX)
        );
    }
}
