//! The fast path's pin, step by step as `pin::pin` makes it (see the
//! module doc of `fastpin`). Every descriptor is a [`Fd`] that closes on
//! drop, and every pin made is undone by [`Made`] unless the whole pin
//! succeeded: the same all-or-nothing as the full path's journal.

use super::argv::{self, Plan, KINDS};
use super::failure::{Failure, Step};
use super::HAND_OFF;
use crate::sys::bytes::CPath;
use crate::sys::raw::{self, Answer};

use crate::caps::{NET_ADMIN, SYS_ADMIN};
use raw::{EACCES, EEXIST, ELOOP, ENAMETOOLONG, ENOENT, ENOSYS, ENOTDIR, EPERM};

/// Why the fast path stopped short of a pin.
enum Stop {
    /// Something the full path judges: it runs from the start.
    HandOff,
    Failed(Failure),
}

type Outcome<T> = Result<T, Stop>;

fn failed(step: Step, item: usize) -> impl Fn(i32) -> Stop {
    move |errno| Stop::Failed(Failure { step, item, errno })
}

/// Pins, and returns the exit status or [`HAND_OFF`].
pub fn pin(plan: &Plan<'_>) -> i32 {
    match try_pin(plan) {
        Ok(()) => 0,
        Err(Stop::HandOff) => HAND_OFF,
        Err(Stop::Failed(failure)) => {
            failure.record();
            HAND_OFF
        }
    }
}

struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        raw::close(self.0);
    }
}

fn open(dir: i32, path: &[u8], flags: i32) -> Answer<Fd> {
    raw::openat(dir, path, flags, 0).map(Fd)
}

/// `Some` if there, `None` if absent; a symlink or a file is the full
/// path's to refuse.
fn open_dir(dir: i32, path: &[u8], step: Step, item: usize) -> Outcome<Option<Fd>> {
    match open(
        dir,
        path,
        raw::O_RDONLY | raw::O_DIRECTORY | raw::O_NOFOLLOW,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(ENOENT) => Ok(None),
        Err(ELOOP | ENOTDIR) => Err(Stop::HandOff),
        Err(errno) => Err(failed(step, item)(errno)),
    }
}

fn try_pin(plan: &Plan<'_>) -> Outcome<()> {
    require_capabilities(plan)?;
    // DIR itself may be reached through symlinks (the full path opens
    // "DIR/." with O_NOFOLLOW, the same lookup); a missing one is created
    // by the full path.
    let dir = match open(raw::AT_FDCWD, plan.dir, raw::O_RDONLY | raw::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(ENOENT | ENOTDIR | ELOOP) => return Err(Stop::HandOff),
        Err(errno) => return Err(failed(Step::OpenDir, 0)(errno)),
    };
    let mut type_dirs = [None, None, None];
    for (k, slot) in type_dirs.iter_mut().enumerate() {
        if plan.creates(k) {
            *slot = open_dir(dir.0, argv::dir_name(k), Step::OpenTypeDir, k)?;
            if let Some(td) = slot {
                nothing_at(td, plan, k)?;
            }
        }
    }
    let proc_sys = choose_proc_sys(plan)?;
    let flags = (0..KINDS.len())
        .filter(|&k| plan.creates(k))
        .fold(0, |acc, k| acc | argv::clone_flag(k));
    raw::unshare(flags).map_err(failed(Step::Unshare, 0))?;
    write_sysctls(plan, proc_sys.as_ref())?;
    for (k, slot) in type_dirs.iter_mut().enumerate() {
        if plan.creates(k) && slot.is_none() {
            *slot = Some(create_type_dir(&dir, k)?);
        }
    }
    raw::lock_exclusive(dir.0).map_err(failed(Step::Lock, 0))?;
    let mut made = Made::default();
    for (k, td) in type_dirs.iter().enumerate() {
        if let Some(td) = td {
            attach(plan, td, k, &mut made)?;
        }
    }
    made.keep();
    // As the full path: what is still open, DIR's lock included, is left
    // for the kernel to close at exit.
    core::mem::forget(type_dirs);
    core::mem::forget(dir);
    Ok(())
}

/// The full path refuses up front when a capability is lacking, in words.
fn require_capabilities(plan: &Plan<'_>) -> Outcome<()> {
    let mut needs = 1u64 << SYS_ADMIN;
    if plan.writes_into(argv::NET) {
        needs |= 1 << NET_ADMIN;
    }
    match raw::effective_caps() {
        Ok(have) if have & needs == needs => Ok(()),
        _ => Err(Stop::HandOff),
    }
}

/// Anything already at a pin path is the full path's to judge (CRI-O's
/// pre-created file, a pin in place).
fn nothing_at(td: &Fd, plan: &Plan<'_>, k: usize) -> Outcome<()> {
    match open(td.0, plan.name, raw::O_PATH | raw::O_NOFOLLOW) {
        Ok(_) => Err(Stop::HandOff),
        Err(ENOENT) => Ok(()),
        Err(errno) => Err(failed(Step::OpenPin, k)(errno)),
    }
}

/// As `ProcSys::for_keys`: a private procfs instance's `sys` (`None`: the
/// host's `/proc/sys`, where the kernel will not make one). The fast path
/// takes only keys under `/proc/sys`.
fn choose_proc_sys(plan: &Plan<'_>) -> Outcome<Option<Fd>> {
    if plan.sysctls().next().is_none() {
        return Ok(None);
    }
    match private_proc_sys() {
        Ok(sys) => Ok(Some(sys)),
        Err((_, ENOSYS | EPERM | EACCES)) => Ok(None),
        Err((step, errno)) => Err(failed(step, 0)(errno)),
    }
}

fn private_proc_sys() -> Result<Fd, (Step, i32)> {
    const FSOPEN_CLOEXEC: usize = 1;
    const FSCONFIG_CMD_CREATE: usize = 6;
    const FSMOUNT_CLOEXEC: usize = 1;
    // MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
    const ATTRS: usize = 0x2 | 0x4 | 0x8;
    let fs = Fd(raw::fsopen(b"proc\0", FSOPEN_CLOEXEC).map_err(|e| (Step::Fsopen, e))?);
    raw::fsconfig_cmd(fs.0, FSCONFIG_CMD_CREATE).map_err(|e| (Step::Fsconfig, e))?;
    let mnt = Fd(raw::fsmount(fs.0, FSMOUNT_CLOEXEC, ATTRS).map_err(|e| (Step::Fsmount, e))?);
    let flags = raw::O_PATH | raw::O_DIRECTORY;
    open(mnt.0, b"sys\0", flags).map_err(|e| (Step::OpenProcSys, e))
}

fn write_sysctls(plan: &Plan<'_>, proc_sys: Option<&Fd>) -> Outcome<()> {
    for (i, s) in plan.sysctls().enumerate() {
        let mut path = CPath::<256>::default();
        let built = path.push(b"/proc/sys/") && path.push_mapped(s.key, b'.', b'/');
        let path = path.c_str();
        let (at, path) = match proc_sys {
            Some(sys) => (sys.0, path.get(b"/proc/sys/".len()..).unwrap_or(b"")),
            None => (raw::AT_FDCWD, path),
        };
        let file = match open(at, path, raw::O_WRONLY | raw::O_NOFOLLOW) {
            Ok(file) if built => file,
            Ok(_) => return Err(failed(Step::OpenSysctl, i)(ENAMETOOLONG)),
            Err(errno) => return Err(failed(Step::OpenSysctl, i)(errno)),
        };
        raw::write_all_once(file.0, s.value).map_err(failed(Step::WriteSysctl, i))?;
    }
    Ok(())
}

fn create_type_dir(dir: &Fd, k: usize) -> Outcome<Fd> {
    match raw::mkdirat(dir.0, argv::dir_name(k), 0o755) {
        Ok(()) | Err(EEXIST) => {}
        Err(errno) => return Err(failed(Step::CreateTypeDir, k)(errno)),
    }
    open_dir(dir.0, argv::dir_name(k), Step::OpenTypeDir, k)?
        .ok_or_else(|| failed(Step::OpenTypeDir, k)(ENOENT))
}

/// `/proc/self/fd/N`, how a mount names an opened file.
fn fd_path(fd: &Fd) -> CPath<32> {
    let mut path = CPath::default();
    path.push(b"/proc/self/fd/");
    path.push_decimal(fd.0 as u32);
    path
}

fn attach<'a>(plan: &Plan<'a>, td: &Fd, k: usize, made: &mut Made<'a>) -> Outcome<()> {
    let flags = raw::O_RDONLY | raw::O_CREAT | raw::O_EXCL | raw::O_NOFOLLOW;
    let file = match raw::openat(td.0, plan.name, flags, 0o444) {
        Ok(fd) => Fd(fd),
        // Appeared since it was checked: the full path judges it.
        Err(EEXIST) => return Err(Stop::HandOff),
        Err(errno) => return Err(failed(Step::CreatePin, k)(errno)),
    };
    let mounted = raw::bind_mount(argv::ns_source(k), fd_path(&file).c_str());
    made.push(Pin {
        td: td.0,
        name: plan.name,
        kind: k,
        file,
        mounted: mounted.is_ok(),
    });
    mounted.map_err(failed(Step::MountPin, k))
}

/// A pin this call made: its file, and the mount on it if made.
struct Pin<'a> {
    td: i32,
    name: &'a [u8],
    kind: usize,
    /// From `O_CREAT`: what the undo may unlink.
    file: Fd,
    mounted: bool,
}

/// The pins made so far, undone in reverse on drop unless kept.
#[derive(Default)]
struct Made<'a> {
    pins: [Option<Pin<'a>>; 3],
}

impl<'a> Made<'a> {
    fn push(&mut self, pin: Pin<'a>) {
        if let Some(slot) = self.pins.iter_mut().find(|p| p.is_none()) {
            *slot = Some(pin);
        }
    }

    /// Keeps every pin; their descriptors are left for the kernel to
    /// close at exit, as the full path's.
    fn keep(mut self) {
        for pin in self.pins.iter_mut().filter_map(Option::take) {
            core::mem::forget(pin.file);
        }
    }
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        for pin in self.pins.iter_mut().rev().filter_map(Option::take) {
            pin.undo();
        }
    }
}

impl Pin<'_> {
    /// Best effort, and only what is ours: the namespace we mounted, then
    /// the file we created (as `pindir::undo`).
    fn undo(&self) {
        if self.mounted {
            let ns = raw::stat_at(raw::AT_FDCWD, argv::ns_source(self.kind), 0);
            if let Ok(top) = open(self.td, self.name, raw::O_PATH | raw::O_NOFOLLOW) {
                let here = raw::stat_at(top.0, b"\0", raw::AT_EMPTY_PATH);
                if ns.is_ok() && here == ns {
                    let _ = raw::umount2(fd_path(&top).c_str(), raw::MNT_DETACH);
                }
            }
        }
        let ours = raw::stat_at(self.file.0, b"\0", raw::AT_EMPTY_PATH);
        let here = raw::stat_at(self.td, self.name, raw::AT_SYMLINK_NOFOLLOW);
        if ours.is_ok() && here == ours {
            let _ = raw::unlinkat(self.td, self.name);
        }
    }
}
