//! The syscall edge. Every call that changes kernel state, and every `unsafe`
//! block of the crate, lives under this module; the rest of the crate decides
//! *what* to do and calls these small functions to do it. Each file is named
//! for the calls it owns.
//!
//! # One convention for every `pub fn` here
//! - It returns [`crate::error::Result`]. The error is made here, once, by
//!   `Error::path(op, path, errno)` (through `PathContext::at`) or
//!   `Error::call(op, errno)`: `op` says what failed, `path` on which object.
//!   A function working on a descriptor takes the path the descriptor was
//!   opened from, for that message only.
//! - No `nix::Result`, `io::Result` or `(&str, Errno)` leaves this module,
//!   and a caller adds no context of its own: the message is already whole.
//! - A caller that must tell one failure from another (ENOENT: nothing
//!   there) asks [`crate::error::Error::errno`]. Where "nothing there" is
//!   the everyday answer of a call made per pin (`files::open_path_at`,
//!   `files::mkdir_at`), the function says it in its type instead, so no
//!   error is built only to be dropped.
//! - The one exception is [`raw`] (and its byte strings, [`bytes`]), for
//!   code that runs before the C library has started: it cannot allocate an
//!   error. See their module docs.
//! - What the kernel prints (`/proc/self/mountinfo`) is parsed by pure
//!   functions beside the one that reads it, unit-tested without root.

pub mod bytes;
pub mod caps;
pub mod exec;
pub mod fdmount;
pub mod files;
pub mod mount;
pub mod mountinfo;
pub mod namespace;
pub mod net;
pub mod pidfd;
pub mod process;
pub mod procfs;
pub mod proclinks;
#[cfg(target_arch = "x86_64")]
pub mod raw;
pub mod sched;
pub mod setid;
pub mod signals;
