//! Running the entered command: fork (so that it lands in a joined PID
//! namespace), exec in the child, and in the parent wait for it, forward
//! termination signals to it and hand back its exit status.
//!
//! Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in pinns and
//! read from a signalfd. One sent to pinns by a process (`kill`, a service
//! manager, a test) is forwarded to the command. One raised by the terminal
//! (Ctrl-C, Ctrl-\, hangup) is not: the terminal sends it to the whole
//! foreground process group, which the command shares with pinns, so the
//! command already has it, once. Either way pinns lives on until the command
//! exits and passes its status through.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{Read, Write};
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
    let (err_read, err_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::call("pipe", e))?;
    let (err_read, err_write) = (File::from(err_read), File::from(err_write));
    let parent = nix::unistd::getpid();

    // SAFETY: pinns is single-threaded, so the child may run ordinary code
    // until it execs.
    match unsafe { fork() }.map_err(|e| Error::call("fork", e))? {
        ForkResult::Child => {
            drop(err_read);
            drop(signals);
            exec_child(&cargs, &old_mask, err_write, parent)
        }
        ForkResult::Parent { child } => {
            drop(err_write);
            if let Some(errno) = exec_error(err_read) {
                let _ = waitpid(child, None);
                return Err(Error::Exec {
                    program: argv[0].to_string_lossy().into_owned(),
                    errno,
                });
            }
            supervise(child, &signals)
        }
    }
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

/// The child: restore what the command should inherit, exec, and report
/// the errno through the close-on-exec pipe if exec fails.
fn exec_child(cargs: &[CString], old_mask: &SigSet, mut err_write: File, parent: Pid) -> ! {
    // Die with pinns rather than linger unsupervised. The parent is outside
    // a joined PID namespace, where getppid() reads 0.
    let ppid = nix::unistd::getppid();
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err()
        || (ppid != parent && ppid.as_raw() != 0)
    {
        exit(127);
    }
    let result = old_mask
        .thread_set_mask()
        .and_then(|()| mark_inherited_fds_cloexec())
        .and_then(|()| nix::unistd::execvp(&cargs[0], cargs).map(drop));
    let errno = result.err().unwrap_or(Errno::EIO);
    let _ = err_write.write_all(&(errno as i32).to_ne_bytes());
    exit(127)
}

/// Only 0, 1 and 2 reach the command: descriptors pinns inherited without
/// close-on-exec are closed at exec too.
fn mark_inherited_fds_cloexec() -> nix::Result<()> {
    // SAFETY: no pointers involved.
    let rc = unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    Errno::result(rc).map(drop)
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit skips the parent's destructors and atexit handlers.
    unsafe { libc::_exit(code) }
}

/// Reads the child's exec errno; end-of-file means exec succeeded.
fn exec_error(mut pipe: File) -> Option<Errno> {
    let mut buf = [0u8; 4];
    loop {
        match pipe.read_exact(&mut buf) {
            Ok(()) => return Some(Errno::from_raw(i32::from_ne_bytes(buf))),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
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
