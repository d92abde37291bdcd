//! Waiting for a stop: SIGINT and SIGTERM blocked, then taken with
//! `sigtimedwait(2)`.

use crate::error::{Error, Result};
use nix::errno::Errno;

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
