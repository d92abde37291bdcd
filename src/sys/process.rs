//! Processes: the one way the crate forks (a child joined to its parent by
//! a channel), the one way a child leaves (`exit_child`), the one way it
//! says it failed (`fail`), and credentials inside a new user namespace.
//!
//! Every fork of pinns is built on [`fork_with_channel`]: the pin helper
//! that creates user and mount namespaces and [`run_in_child`] (a look
//! inside a namespace we must not join ourselves). The command of `pinns
//! enter` is the one child that is not forked: `exec::run` spawns it on
//! our memory until it execs, as it needs no work of its own before.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Pid, Uid};
use std::os::fd::{AsRawFd, OwnedFd};

/// One end of the parent/child channel: a SOCK_SEQPACKET pair, so each
/// message arrives whole and a closed peer reads as end-of-file. Both ends
/// are close-on-exec: a child that execs closes its end, which the parent
/// reads as "exec succeeded".
pub struct Channel(OwnedFd);

/// Largest message [`Channel::recv`] takes.
const MAX_MESSAGE: usize = 64 * 1024;

/// Largest part of an answer [`run_in_child`] sends at once: below
/// [`MAX_MESSAGE`] and a socket's default send buffer, which bounds one
/// SEQPACKET message.
const CHUNK: usize = 32 * 1024;

impl Channel {
    pub fn send(&self, msg: &[u8]) -> Result<()> {
        send(self.0.as_raw_fd(), msg, MsgFlags::MSG_NOSIGNAL)
            .map(drop)
            .map_err(|e| Error::call("send on the helper channel", e))
    }

    /// Receives one message of up to [`MAX_MESSAGE`] bytes (one call: the
    /// pin path counts its syscalls); an empty result means the peer is
    /// gone.
    pub fn recv(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            // MSG_TRUNC: the message's whole length, even if cut.
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::MSG_TRUNC) {
                Ok(n) if n > MAX_MESSAGE => {
                    return Err(Error::call(
                        "receive on the helper channel",
                        Errno::EMSGSIZE,
                    ))
                }
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::call("receive on the helper channel", e)),
            }
        }
    }
}

pub enum Forked {
    Parent { child: Pid, channel: Channel },
    Child { channel: Channel },
}

/// Forks with a channel between parent and child. The child dies with its
/// parent (SIGKILL), even if the parent is killed before it can reap it.
///
/// The child must leave through [`exit_child`] (or [`fail`], or exec),
/// never by returning into the caller's frames: those hold the parent's
/// guards, whose drops would undo the parent's work.
pub fn fork_with_channel() -> Result<Forked> {
    let (parent_end, child_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::call("create helper channel", e))?;
    let parent_pid = nix::unistd::getpid();
    // SAFETY: pinns is single-threaded when it forks, so the child may run
    // ordinary Rust code.
    match unsafe { fork() }.map_err(|e| Error::call("fork", e))? {
        ForkResult::Parent { child } => {
            drop(child_end);
            Ok(Forked::Parent {
                child,
                channel: Channel(parent_end),
            })
        }
        ForkResult::Child => {
            drop(parent_end);
            // A parent that is outside our PID namespace (it joined one for
            // its children) reads as 0; any other PID means it is gone.
            let ppid = nix::unistd::getppid();
            if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err()
                || (ppid != parent_pid && ppid.as_raw() != 0)
            {
                exit_child(1);
            }
            Ok(Forked::Child {
                channel: Channel(child_end),
            })
        }
    }
}

pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit skips atexit handlers and destructors on purpose.
    unsafe { libc::_exit(code) }
}

/// First bytes of a child's failure report (see [`fail`]).
const FAILED: &[u8] = b"failed:";

/// The child's one way to say it failed: one message on the channel with
/// the error's errno (4 bytes, 0 for none) and its one-line text, then exit
/// status 1. The parent reads it with [`ChildFailure::parse`].
pub fn fail(channel: &Channel, err: &Error) -> ! {
    let errno = err.errno().map_or(0, |e| e as i32);
    let report = [FAILED, &errno.to_ne_bytes(), err.to_string().as_bytes()].concat();
    let _ = channel.send(&report);
    exit_child(1)
}

/// A failure a child reported with [`fail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    pub errno: Option<Errno>,
    pub text: String,
}

impl ChildFailure {
    /// The report in `msg`, if `msg` is one.
    pub fn parse(msg: &[u8]) -> Option<ChildFailure> {
        let rest = msg.strip_prefix(FAILED)?;
        let (errno, text) = rest.split_at_checked(4)?;
        let errno = i32::from_ne_bytes(errno.try_into().ok()?);
        Some(ChildFailure {
            errno: (errno != 0).then(|| Errno::from_raw(errno)),
            text: String::from_utf8_lossy(text).into_owned(),
        })
    }
}

/// Exit status of a helper that printed its own error because the channel
/// to its parent failed; the parent then prints nothing more.
pub const HELPER_REPORTED: i32 = 3;

/// Waits for a child to end and describes how it ended.
pub fn reap(child: Pid) -> WaitStatus {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            Ok(status) => return status,
            Err(_) => return WaitStatus::StillAlive,
        }
    }
}

/// Kills and reaps a child, so it leaves neither a process nor a zombie.
pub fn kill_and_reap(child: Pid) {
    let _ = kill(child, Signal::SIGKILL);
    reap(child);
}

/// Whether tasks `a` and `b` share one address space, as `kcmp(2)` with
/// KCMP_VM answers (it compares the tasks' memory descriptors). A kernel
/// thread has none, so two kernel threads compare equal, and a task
/// compared with kthreadd is equal only when it has no user memory either:
/// one call, no `/proc` path walked. It asks the access a `/proc/PID/exe`
/// read asks (ptrace read of both tasks). Fails with ESRCH once either is
/// gone, ENOSYS without CONFIG_KCMP, EPERM where it is refused (a seccomp
/// filter, ptrace rules).
pub fn shares_address_space(a: i32, b: i32) -> Result<bool> {
    // <linux/kcmp.h>: enum kcmp_type { KCMP_FILE, KCMP_VM, ... }.
    const KCMP_VM: libc::c_long = 1;
    // SAFETY: no pointers involved; KCMP_VM takes no further arguments.
    let rc = unsafe { libc::syscall(libc::SYS_kcmp, a, b, KCMP_VM, 0, 0) };
    // 0: the same; 1 and 2: ordered, 3: unordered, all different.
    match Errno::result(rc) {
        Ok(order) => Ok(order == 0),
        Err(e) => Err(Error::call(format!("kcmp({a}, {b}, KCMP_VM)"), e)),
    }
}

/// Becomes root of the current user namespace (ids must be mapped).
pub fn become_namespace_root() -> Result<()> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(|e| Error::call("setresgid(0) in the user namespace", e))?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .map_err(|e| Error::call("setresuid(0) in the user namespace", e))
}

/// Tags of [`run_in_child`]'s messages: a part of the answer, its end.
const PART: u8 = b'+';
const END: u8 = b'.';

/// Runs `work` in a forked child and returns the bytes it produced, or its
/// error text. Used to look inside a namespace (the child joins it; we never
/// do) and to make throw-away mounts in a private mount namespace.
pub fn run_in_child(
    op: &str,
    work: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
) -> Result<Vec<u8>> {
    let (child, channel) = match fork_with_channel()? {
        Forked::Child { channel } => match work() {
            Ok(bytes) => exit_child(send_answer(&channel, &bytes).map_or(1, |()| 0)),
            Err(text) => fail(&channel, &Error::Helper(text)),
        },
        Forked::Parent { child, channel } => (child, channel),
    };
    let answer = read_answer(op, &channel);
    reap(child);
    answer
}

/// The answer in parts of at most [`CHUNK`] bytes, then an end mark.
fn send_answer(channel: &Channel, bytes: &[u8]) -> Result<()> {
    for part in bytes.chunks(CHUNK) {
        channel.send(&[&[PART], part].concat())?;
    }
    channel.send(&[END])
}

fn read_answer(op: &str, channel: &Channel) -> Result<Vec<u8>> {
    let mut answer = Vec::new();
    loop {
        let msg = channel
            .recv()
            .map_err(|e| Error::Helper(format!("{op}: {e}")))?;
        match msg.split_first() {
            Some((&PART, part)) => answer.extend_from_slice(part),
            Some((&END, [])) => return Ok(answer),
            _ => {
                return Err(Error::Helper(match ChildFailure::parse(&msg) {
                    Some(failed) => format!("{op}: {}", failed.text),
                    None => format!("{op}: child process died"),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_spaces_are_shared_by_threads_only() {
        let me = std::process::id() as i32;
        assert!(shares_address_space(me, me).unwrap());
        // A thread of ours shares our memory; a child process has its own.
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        assert!(shares_address_space(me, tid).unwrap());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert!(!shares_address_space(me, pid).unwrap());
        child.kill().unwrap();
        child.wait().unwrap();
        let gone = shares_address_space(me, pid).unwrap_err();
        assert_eq!(gone.errno(), Some(Errno::ESRCH), "{gone}");
        stop_tx.send(()).unwrap();
        worker.join().unwrap();
    }

    #[test]
    fn a_child_answers_in_parts_of_any_length() {
        for len in [0, 1, CHUNK, 3 * CHUNK + 7] {
            let want: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sent = want.clone();
            assert_eq!(run_in_child("test", move || Ok(sent)).unwrap(), want);
        }
    }

    #[test]
    fn a_childs_failure_comes_back_as_one_line() {
        let err = run_in_child("look", || Err("no such thing".into())).unwrap_err();
        assert_eq!(err.to_string(), "look: no such thing");
        let err = run_in_child("look", || exit_child(0)).unwrap_err();
        assert_eq!(err.to_string(), "look: child process died");
    }

    #[test]
    fn a_failure_report_carries_errno_and_text() {
        let (child, channel) = match fork_with_channel().unwrap() {
            Forked::Child { channel } => fail(&channel, &Error::path("open", "/x", Errno::EACCES)),
            Forked::Parent { child, channel } => (child, channel),
        };
        let report = ChildFailure::parse(&channel.recv().unwrap()).unwrap();
        assert_eq!(report.errno, Some(Errno::EACCES));
        assert_eq!(report.text, "open /x: EACCES: Permission denied");
        assert_eq!(reap(child), WaitStatus::Exited(child, 1));
        assert_eq!(ChildFailure::parse(b"ready"), None);
    }
}
