//! A system call of the fast path that failed: recorded there (nothing can
//! be formatted before the C library starts), reported by the whole program
//! in the same words as its own steps' errors, after the fast path has
//! undone what it changed.

use super::argv::KINDS;
use crate::error::{Error, Result};
use crate::pin::PinPlan;
use crate::pindir::pin_path;
use crate::sysctl::{SysctlError, Target};
use nix::errno::Errno;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// The step that failed; `item` is a kind (index into `KINDS`) or a
/// sysctl (its place on the command line), as the step says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    OpenDir = 1,
    OpenTypeDir,
    OpenPin,
    Fsopen,
    Fsconfig,
    Fsmount,
    OpenProcSys,
    Unshare,
    OpenSysctl,
    WriteSysctl,
    CreateTypeDir,
    Lock,
    CreatePin,
    MountPin,
}

const STEPS: [Step; 14] = [
    Step::OpenDir,
    Step::OpenTypeDir,
    Step::OpenPin,
    Step::Fsopen,
    Step::Fsconfig,
    Step::Fsmount,
    Step::OpenProcSys,
    Step::Unshare,
    Step::OpenSysctl,
    Step::WriteSysctl,
    Step::CreateTypeDir,
    Step::Lock,
    Step::CreatePin,
    Step::MountPin,
];

// In .bss: written before the C library starts, read after.
static STEP: AtomicU32 = AtomicU32::new(0);
static ITEM: AtomicU32 = AtomicU32::new(0);
static ERRNO: AtomicI32 = AtomicI32::new(0);

/// A failure of the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub item: usize,
    pub errno: i32,
}

impl Failure {
    pub fn record(self) {
        ITEM.store(self.item as u32, Ordering::Relaxed);
        ERRNO.store(self.errno, Ordering::Relaxed);
        STEP.store(self.step as u32, Ordering::Relaxed);
    }

    /// What the fast path recorded before handing over, if anything.
    pub fn recorded() -> Option<Failure> {
        let step = STEP.load(Ordering::Relaxed);
        Some(Failure {
            step: *STEPS.iter().find(|s| **s as u32 == step)?,
            item: ITEM.load(Ordering::Relaxed) as usize,
            errno: ERRNO.load(Ordering::Relaxed),
        })
    }

    /// The error the full path gives for the same step, read off the same
    /// command line.
    pub fn error(&self, argv: &[OsString]) -> Error {
        let errno = Errno::from_raw(self.errno);
        let plan = crate::cli::crio_form::recognise(argv)
            .ok_or(())
            .and_then(|args| PinPlan::new(&args.request()).map_err(drop));
        match plan {
            Ok(plan) => self.error_of(&plan, errno),
            // Cannot happen: the fast path takes a subset of the full one.
            Err(()) => Error::call(format!("pin (fast path step {:?})", self.step), errno),
        }
    }

    fn error_of(&self, plan: &PinPlan, errno: Errno) -> Error {
        let kind = KINDS.get(self.item).copied().unwrap_or(KINDS[0]);
        let type_dir = || plan.dir.join(kind.dir_name());
        let pin = || pin_path(&plan.dir, kind, &plan.name);
        let sysctl = plan.sysctls.get(self.item);
        match self.step {
            Step::OpenDir => Error::path("open directory", &plan.dir, errno),
            Step::OpenTypeDir => Error::path("open directory", type_dir(), errno),
            Step::OpenPin => Error::path("open", pin(), errno),
            Step::Fsopen => Error::call("fsopen a private procfs instance", errno),
            Step::Fsconfig => Error::call("fsconfig a private procfs instance", errno),
            Step::Fsmount => Error::call("fsmount a private procfs instance", errno),
            Step::OpenProcSys => Error::call("open sys of a private procfs instance", errno),
            Step::Unshare => crate::sys::namespace::unshare_error(plan.unshare_flags(), errno),
            // As `ProcSys::apply`, for the open and the write alike.
            Step::OpenSysctl | Step::WriteSysctl if unknown_key(errno) => match sysctl {
                Some(s) => SysctlError::Unknown {
                    key: s.key(),
                    ns: s.namespace(),
                }
                .into(),
                None => Error::call("write sysctl", errno),
            },
            Step::OpenSysctl | Step::WriteSysctl => {
                let file = match sysctl.map(|s| s.target()) {
                    Some(Target::File(path)) => Path::new("/proc/sys").join(path),
                    _ => PathBuf::from("/proc/sys"),
                };
                Error::path("write sysctl", file, errno)
            }
            Step::CreateTypeDir => Error::path("create directory", type_dir(), errno),
            Step::Lock => Error::path("lock", &plan.dir, errno),
            Step::CreatePin => Error::path("create file", pin(), errno),
            Step::MountPin => Error::path("bind mount the namespace onto", pin(), errno),
        }
    }
}

/// How the full path tells a key the kernel lacks from a failed write.
pub fn unknown_key(errno: Errno) -> bool {
    matches!(errno, Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG)
}

/// Reports a failure of the fast path, if it recorded one.
pub fn reported(argv: &[OsString]) -> Option<Result<u8>> {
    Failure::recorded().map(|f| Err(f.error(argv)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_failure_reads_back() {
        assert_eq!(Failure::recorded(), None);
        for step in STEPS {
            let f = Failure {
                step,
                item: 2,
                errno: 131,
            };
            f.record();
            assert_eq!(Failure::recorded(), Some(f));
        }
        STEP.store(0, Ordering::Relaxed);
    }

    #[test]
    fn failures_read_as_the_full_path_s_errors() {
        let argv: Vec<OsString> = [
            "pinns",
            "-d",
            "/run/x",
            "-f",
            "pod",
            "--net",
            "--ipc",
            "-s",
            "net.ipv4.ip_forward=1",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let text = |step, item, errno: Errno| {
            Failure {
                step,
                item,
                errno: errno as i32,
            }
            .error(&argv)
            .to_string()
        };
        assert_eq!(
            text(Step::CreatePin, 2, Errno::ENOTRECOVERABLE),
            Error::path("create file", "/run/x/netns/pod", Errno::ENOTRECOVERABLE).to_string()
        );
        assert!(text(Step::OpenSysctl, 0, Errno::ENOENT)
            .contains("sysctl net.ipv4.ip_forward does not exist in a new net namespace"));
        assert!(text(Step::WriteSysctl, 0, Errno::EINVAL)
            .starts_with("write sysctl /proc/sys/net/ipv4/ip_forward: EINVAL"));
        assert!(text(Step::Unshare, 0, Errno::ENOSPC).contains("max_*_namespaces"));
        assert!(text(Step::Lock, 0, Errno::EIO).starts_with("lock /run/x: EIO"));
    }
}
