//! Running the entered command. Where no PID namespace is joined, pinns
//! becomes the command (`replace_with`, an exec in place, as `nsenter`
//! does): its status, its signals and its terminal are its own, and no
//! second process is made or waited for (~0.3 ms per `enter` here). Where
//! one is joined, the command must be a child to land in it (`run`): pinns
//! spawns it, waits for it, forwards termination signals to it and hands
//! back its exit status.
//!
//! The child is made with `clone(CLONE_VM | CLONE_VFORK)`, as
//! `posix_spawn` makes one: it borrows our memory until it execs, so no
//! page table is copied and no page is copied on write by either side (a
//! fork cost ~80 us more here, for pinns' ~2 MiB). Everything it needs is
//! prepared before; it only makes system calls, allocates nothing, and
//! reports a failure in memory we read once it is gone or has exec'd. It
//! joins no namespace itself: a task sharing its memory may not join a
//! user or mount namespace, so pinns joins them all before (`enter::join`).
//! pinns has no signal handlers that the child could run on our memory
//! (`main` runs without Rust's runtime set-up).
//!
//! Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in pinns and
//! read from a signalfd. One sent to pinns by a process (`kill`, a service
//! manager, a test) is forwarded to the command. One raised by the terminal
//! (Ctrl-C, Ctrl-\, hangup) is not: the terminal sends it to the whole
//! foreground process group, which the command shares with pinns, so the
//! command already has it, once. Either way pinns lives on until the command
//! exits and passes its status through.

use super::process;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::convert::Infallible;
use std::ffi::{c_char, c_int, c_void, CString, OsString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, Ordering};

pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Replaces pinns with `argv` (`argv[0]` searched in PATH), passing on
/// only fds 0, 1 and 2. Returns only if that failed.
pub fn replace_with(argv: &[OsString]) -> Result<Infallible> {
    let cargs = c_args(argv)?;
    let argv = null_terminated(&cargs);
    // SAFETY: no memory is involved.
    let rc = unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as c_int) };
    Errno::result(rc).map_err(|e| Error::call("close_range(CLOSE_RANGE_CLOEXEC)", e))?;
    // SAFETY: `argv` is NULL-terminated and its strings NUL-terminated; on
    // success nothing of this process's memory is used again.
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    Err(Error::Exec {
        program: cargs[0].to_string_lossy().into_owned(),
        errno: Errno::last(),
    })
}

fn null_terminated(cargs: &[CString]) -> Vec<*const c_char> {
    cargs
        .iter()
        .map(|a| a.as_ptr())
        .chain([std::ptr::null()])
        .collect()
}

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
    let child = spawn(&cargs, &old_mask)?;
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

/// What the child is given, all made before it exists.
struct Job<'a> {
    /// The arguments, NULL-terminated, for `execvp`.
    argv: &'a [*const c_char],
    /// The signal mask pinns was started with, which the command inherits.
    mask: &'a SigSet,
    parent: libc::pid_t,
    /// Set by the child when it cannot exec: the errno of the step that
    /// failed. Read by the parent once the child is gone or has exec'd.
    failed: AtomicI32,
}

/// Stack of the child: what `execvp` needs (a path buffer, an argument
/// vector for a script), with room to spare; only the pages touched are
/// ever allocated.
const STACK: usize = 64 * 1024;

/// Starts the child (see the module's text); one that could not exec is
/// reaped, and its reason returned.
fn spawn(cargs: &[CString], mask: &SigSet) -> Result<Pid> {
    let argv = null_terminated(cargs);
    let job = Job {
        argv: &argv,
        mask,
        parent: nix::unistd::getpid().as_raw(),
        failed: AtomicI32::new(0),
    };
    let size = STACK + argv.len() * std::mem::size_of::<*const c_char>();
    let mut stack: Vec<MaybeUninit<u8>> = Vec::with_capacity(size);
    // The stack grows down from its (16-byte aligned) end.
    let top = (stack.as_mut_ptr() as usize + size) & !15;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: `child_main` receives `job`, which, like `stack`, outlives
    // the child's use of our memory: CLONE_VFORK returns only once the
    // child has exec'd or exited. The child makes only system calls.
    let pid = unsafe {
        libc::clone(
            child_main,
            top as *mut c_void,
            flags,
            &job as *const Job as *mut c_void,
        )
    };
    let pid = Errno::result(pid).map_err(|e| Error::call("clone(CLONE_VM | CLONE_VFORK)", e))?;
    let child = Pid::from_raw(pid);
    drop(stack);
    match job.failed.load(Ordering::SeqCst) {
        0 => Ok(child),
        errno => {
            process::reap(child);
            Err(Error::Exec {
                program: cargs[0].to_string_lossy().into_owned(),
                errno: Errno::from_raw(errno),
            })
        }
    }
}

/// The child, on our memory: dies with pinns, restores the signal mask,
/// lets only fds 0-2 reach the command, execs. Returns only on failure.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Job` that `spawn` keeps alive (see there).
    let job = unsafe { &*(arg as *const Job) };
    // SAFETY: system calls on valid arguments; `argv` is NULL-terminated
    // and its strings are NUL-terminated.
    unsafe {
        let ready = libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0
            && parent_alive(job.parent)
            && libc::sigprocmask(libc::SIG_SETMASK, job.mask.as_ref(), std::ptr::null_mut()) == 0
            // Descriptors pinns inherited without close-on-exec close too.
            && libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as c_int) == 0;
        if ready {
            libc::execvp(job.argv[0], job.argv.as_ptr());
        }
        // Never 0, which means "exec'd": a gone parent sets no errno.
        job.failed.store(Errno::last_raw().max(1), Ordering::SeqCst);
        libc::_exit(127)
    }
}

/// Whether the parent that spawned us is still our parent. One that is
/// outside our PID namespace (it joined one for its children) reads as 0;
/// any other PID means it is gone, and the command must not start.
fn parent_alive(parent: libc::pid_t) -> bool {
    // SAFETY: no pointers involved.
    let ppid = unsafe { libc::getppid() };
    ppid == parent || ppid == 0
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
