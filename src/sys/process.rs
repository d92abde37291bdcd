//! Processes: the helper child that creates user and mount namespaces, and
//! credentials inside a new user namespace.

use crate::error::{Error, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Pid, Uid};
use std::os::fd::{AsRawFd, OwnedFd};

/// One end of the parent/helper channel: a SOCK_SEQPACKET pair, so each
/// message arrives whole and a closed peer reads as end-of-file.
pub struct Channel(OwnedFd);

impl Channel {
    pub fn send(&self, msg: &[u8]) -> Result<()> {
        send(self.0.as_raw_fd(), msg, MsgFlags::MSG_NOSIGNAL)
            .map(drop)
            .map_err(|e| Error::call("send on the helper channel", e))
    }

    /// Receives one message; an empty result means the peer is gone.
    pub fn recv(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::call("receive on the helper channel", e)),
            }
        }
    }
}

pub enum Forked {
    Parent { child: Pid, channel: Channel },
    Child { channel: Channel },
}

/// Forks with a channel between parent and child.
///
/// The child must leave through [`exit_child`], never by returning into the
/// caller's frames: those hold the parent's guards, whose drops would undo
/// the parent's work.
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
    match unsafe { fork() }.map_err(|e| Error::call("fork helper process", e))? {
        ForkResult::Parent { child } => {
            drop(child_end);
            Ok(Forked::Parent {
                child,
                channel: Channel(parent_end),
            })
        }
        ForkResult::Child => {
            drop(parent_end);
            // Die with the parent, even if it is killed before it can reap us.
            if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err()
                || nix::unistd::getppid() != parent_pid
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

/// Exit status of a helper that printed its own error because the channel
/// to its parent failed; the parent then prints nothing more.
pub const HELPER_REPORTED: i32 = 3;

/// Waits for a child to end and describes how it ended.
pub fn reap(child: Pid) -> WaitStatus {
    loop {
        match waitpid(child, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(status) => return status,
            Err(_) => return WaitStatus::StillAlive,
        }
    }
}

/// Kills and reaps a child, so it leaves neither a process nor a zombie.
pub fn kill_and_reap(child: Pid) {
    let _ = kill(child, Signal::SIGKILL);
    while let Err(nix::errno::Errno::EINTR) = waitpid(child, None) {}
}

/// Becomes root of the current user namespace (ids must be mapped).
pub fn become_namespace_root() -> Result<()> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(|e| Error::call("setresgid(0) in the user namespace", e))?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .map_err(|e| Error::call("setresuid(0) in the user namespace", e))
}

/// Runs `work` in a forked child and returns the bytes it produced, or its
/// error text. Used to look inside a namespace (the child joins it; we never
/// do) and to make throw-away mounts in a private mount namespace.
///
/// The child leaves through `_exit`, never by returning into the caller.
pub fn run_in_child(
    op: &str,
    work: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
) -> Result<Vec<u8>> {
    use std::io::{Read, Write};
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::call(format!("{op}: create pipe"), e))?;
    // SAFETY: pinns is single-threaded when it forks, so the child may run
    // ordinary Rust code.
    match unsafe { fork() }.map_err(|e| Error::call(format!("{op}: fork"), e))? {
        ForkResult::Child => {
            drop(read_end);
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let (tag, body) = match work() {
                Ok(bytes) => (b'+', bytes),
                Err(text) => (b'-', text.into_bytes()),
            };
            let mut out = std::fs::File::from(write_end);
            let ok = out.write_all(&[tag]).and_then(|()| out.write_all(&body));
            exit_child(if ok.is_ok() { 0 } else { 1 })
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut bytes = Vec::new();
            let read = std::fs::File::from(read_end).read_to_end(&mut bytes);
            while let Err(nix::errno::Errno::EINTR) = waitpid(child, None) {}
            read.map_err(|e| {
                Error::call(
                    format!("{op}: read from child"),
                    nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                )
            })?;
            match bytes.split_first() {
                Some((b'+', body)) => Ok(body.to_vec()),
                Some((_, text)) => Err(Error::Helper(format!(
                    "{op}: {}",
                    String::from_utf8_lossy(text)
                ))),
                None => Err(Error::Helper(format!("{op}: child process died"))),
            }
        }
    }
}
