//! One error type for the whole crate. Every variant names what failed and on
//! which path, key or argument, so `main` prints it once, on one line.

use nix::errno::Errno;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong; nothing was changed.
    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Name(#[from] crate::name::NameError),

    #[error(transparent)]
    Sysctl(#[from] crate::sysctl::SysctlError),

    #[error(transparent)]
    IdMap(#[from] crate::idmap::IdMapError),

    #[error(transparent)]
    CpuList(#[from] crate::cpuset::CpuListError),

    #[error(transparent)]
    Duration(#[from] crate::duration::DurationError),

    /// A syscall on a path failed. The path is shown escaped: it may come
    /// from a directory listing.
    #[error("{op} {}: {errno}", crate::escape::path(path))]
    Path {
        op: &'static str,
        path: PathBuf,
        errno: Errno,
    },

    /// A syscall that concerns no path failed.
    #[error("{op}: {errno}")]
    Call { op: String, errno: Errno },

    /// The system is in a state we will not act on (a target already pinned,
    /// a setuid invocation, ...). Nothing was changed by us.
    #[error("{0}")]
    Refused(String),

    /// The entered command could not be executed (`pinns enter`).
    #[error("cannot execute {program:?} in the target's namespaces: {errno}")]
    Exec { program: String, errno: Errno },

    #[error(transparent)]
    Placement(#[from] crate::placement::PlacementError),

    /// The helper process that creates user/mount namespaces reported a failure.
    #[error("{0}")]
    Helper(String),

    /// The helper already printed the error itself (its channel failed).
    #[error("")]
    AlreadyReported,
}

impl Error {
    pub fn path(op: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        Error::Path {
            op,
            path: path.into(),
            errno,
        }
    }

    pub fn call(op: impl Into<String>, errno: Errno) -> Self {
        Error::Call {
            op: op.into(),
            errno,
        }
    }

    /// The errno of a failed call, for a caller that must branch on it
    /// (ENOENT = absent).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Path { errno, .. } | Error::Call { errno, .. } | Error::Exec { errno, .. } => {
                Some(*errno)
            }
            _ => None,
        }
    }

    /// Exit status: 2 for a command line we refused to parse, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Name(_)
            | Error::Sysctl(_)
            | Error::IdMap(_)
            | Error::CpuList(_)
            | Error::Duration(_) => 2,
            // As shells and env(1) do: not found, or found but not runnable.
            Error::Exec {
                errno: Errno::ENOENT,
                ..
            } => 127,
            Error::Exec { .. } => 126,
            _ => 1,
        }
    }
}

/// Adds the path to a nix result.
pub trait PathContext<T> {
    fn at(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> PathContext<T> for nix::Result<T> {
    fn at(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|errno| Error::path(op, path, errno))
    }
}

impl<T> PathContext<T> for std::io::Result<T> {
    fn at(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::path(op, path, io_errno(&e)))
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_is_the_failed_calls_and_the_line_names_op_and_path() {
        let e = Error::path("open directory", "/run/x", Errno::ENOENT);
        assert_eq!(e.errno(), Some(Errno::ENOENT));
        assert_eq!(
            e.to_string(),
            "open directory /run/x: ENOENT: No such file or directory"
        );
        assert_eq!(
            Error::call("uname", Errno::EPERM).errno(),
            Some(Errno::EPERM)
        );
        assert_eq!(Error::Usage("bad".into()).errno(), None);
    }
}
