//! Running the entered command: fork (so that it lands in a joined PID
//! namespace; `process::fork_with_channel`, whose channel reports a failed
//! exec), exec in the child, and in the parent wait for it, forward
//! termination signals to it and hand back its exit status.
//!
//! Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in pinns and
//! read from a signalfd. One sent to pinns by a process (`kill`, a service
//! manager, a test) is forwarded to the command. One raised by the terminal
//! (Ctrl-C, Ctrl-\, hangup) is not: the terminal sends it to the whole
//! foreground process group, which the command shares with pinns, so the
//! command already has it, once. Either way pinns lives on until the command
//! exits and passes its status through.

use super::process::{self, ChildFailure, Forked};
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Runs `argv` (`argv[0]` searched in PATH) in a child and returns its exit
/// status: the exit code, or 128 + the signal that killed it.
pub fn run(argv: &[OsString]) -> Result<u8> {
    let cargs = c_args(argv)?;
    let mut mask = SigSet::empty();
    FORWARDED.iter().for_each(|s| mask.add(*s));
    mask.add(Signal::SIGCHLD);
    let old_mask = mask
        .thread_swap_mask(SigmaskHow::SIG_BLOCK)
        .map_err(|e| Error::call("block signals", e))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| Error::call("signalfd", e))?;
    let (child, channel) = match process::fork_with_channel()? {
        Forked::Child { channel } => {
            drop(signals);
            process::fail(&channel, &exec(&cargs, &old_mask))
        }
        Forked::Parent { child, channel } => (child, channel),
    };
    // The child's end of the channel closes when exec succeeds; before
    // that, it reports why exec failed.
    let report = channel.recv()?;
    if let Some(failed) = ChildFailure::parse(&report) {
        process::reap(child);
        return Err(Error::Exec {
            program: argv[0].to_string_lossy().into_owned(),
            errno: failed.errno.unwrap_or(Errno::EIO),
        });
    }
    supervise(child, &signals)
}

fn c_args(argv: &[OsString]) -> Result<Vec<CString>> {
    if argv.is_empty() {
        return Err(Error::Usage("no command to run".into()));
    }
    argv.iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| Error::Usage(format!("command argument {a:?} contains a NUL byte")))
        })
        .collect()
}

/// In the child: restores what the command should inherit and execs; only
/// returns, with the reason, if that fails.
fn exec(cargs: &[CString], old_mask: &SigSet) -> Error {
    let failed = old_mask
        .thread_set_mask()
        .map_err(|e| Error::call("restore the signal mask", e))
        .and_then(|()| mark_inherited_fds_cloexec())
        .and_then(|()| {
            nix::unistd::execvp(&cargs[0], cargs)
                .map(drop)
                .map_err(|e| Error::call("execvp", e))
        });
    failed.err().unwrap_or(Error::call("execvp", Errno::EIO))
}

/// Only 0, 1 and 2 reach the command: descriptors pinns inherited without
/// close-on-exec are closed at exec too.
fn mark_inherited_fds_cloexec() -> Result<()> {
    // SAFETY: no pointers involved.
    let rc = unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    Errno::result(rc)
        .map(drop)
        .map_err(|e| Error::call("close_range(CLOEXEC)", e))
}

fn supervise(child: Pid, signals: &SignalFd) -> Result<u8> {
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code as u8),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as u8),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::call("wait for the command", e)),
        }
        match signals.read_signal() {
            Ok(Some(info)) => forward(child, &info),
            Ok(None) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            Err(e) => return Err(Error::call("read signalfd", e)),
        }
    }
}

fn forward(child: Pid, info: &libc::signalfd_siginfo) {
    let from_terminal = info.ssi_code == libc::SI_KERNEL;
    let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
        return;
    };
    if sig != Signal::SIGCHLD && !from_terminal {
        let _ = kill(child, sig);
    }
}
