//! A process held by a pidfd (Linux 5.3): unlike a PID, which the kernel
//! hands to a new process once the old one is reaped, a pidfd keeps naming
//! the one process it was opened for.

use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct PidFd(OwnedFd);

impl PidFd {
    pub fn open(pid: i32) -> nix::Result<PidFd> {
        // SAFETY: plain integer arguments; the kernel returns a new
        // descriptor (close-on-exec) or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let raw = Errno::result(raw)?;
        // SAFETY: pidfd_open just returned this descriptor; nothing else owns it.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(raw as i32) }))
    }

    /// Whether the process has not been reaped yet (signal 0 only checks).
    /// Its PID cannot have been reused while this holds.
    pub fn is_alive(&self) -> nix::Result<bool> {
        // SAFETY: signal 0 with no siginfo sends nothing.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        match Errno::result(rc) {
            Ok(_) => Ok(true),
            Err(Errno::ESRCH) => Ok(false),
            Err(e) => Err(e),
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
        assert_eq!(PidFd::open(i32::MAX).err(), Some(Errno::ESRCH));
    }
}
