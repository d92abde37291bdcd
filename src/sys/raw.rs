//! System calls made with the `syscall` instruction itself, for the one
//! caller that runs before the C library has started: the fast pin path
//! (`crate::fastpin`), entered straight from the ELF entry point.
//!
//! The exception to this directory's convention, and why: before glibc's
//! start-up nothing may allocate, touch thread-local storage (errno
//! included) or call into libc (its string functions are resolved at
//! start-up), so these return the kernel's answer as it comes, `Err(errno)`,
//! and build no [`crate::error::Error`]. Paths are NUL-terminated byte
//! strings, checked here (a missing NUL is `EINVAL`, not a read past the
//! end). `packaging/check-fast-path.py` proves on the built binary that
//! everything reachable from the entry point keeps to this.

use super::bytes::CStrings;
use core::arch::asm;

/// What the kernel answered: the result, or the errno.
pub type Answer<T> = core::result::Result<T, i32>;

// The kernel's constants, from libc (compile-time values: nothing of libc
// runs).
pub use libc::{
    AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, EACCES, EEXIST, EINTR, EINVAL, EIO, ELOOP,
    ENAMETOOLONG, ENOENT, ENOSYS, ENOTDIR, EPERM, LOCK_EX, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
    O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY,
};
pub const MS_BIND: usize = libc::MS_BIND as usize;
pub const MNT_DETACH: usize = libc::MNT_DETACH as usize;

const SYS_WRITE: usize = libc::SYS_write as usize;
const SYS_CLOSE: usize = libc::SYS_close as usize;
const SYS_CAPGET: usize = libc::SYS_capget as usize;
const SYS_FLOCK: usize = libc::SYS_flock as usize;
const SYS_MOUNT: usize = libc::SYS_mount as usize;
const SYS_UMOUNT2: usize = libc::SYS_umount2 as usize;
const SYS_EXIT_GROUP: usize = libc::SYS_exit_group as usize;
const SYS_OPENAT: usize = libc::SYS_openat as usize;
const SYS_MKDIRAT: usize = libc::SYS_mkdirat as usize;
const SYS_NEWFSTATAT: usize = libc::SYS_newfstatat as usize;
const SYS_UNLINKAT: usize = libc::SYS_unlinkat as usize;
const SYS_UNSHARE: usize = libc::SYS_unshare as usize;
const SYS_FSOPEN: usize = libc::SYS_fsopen as usize;
const SYS_FSCONFIG: usize = libc::SYS_fsconfig as usize;
const SYS_FSMOUNT: usize = libc::SYS_fsmount as usize;

/// # Safety
/// The arguments must be what system call `n` expects; pointers must be
/// valid for what the kernel reads or writes through them.
#[inline(always)]
unsafe fn syscall(n: usize, args: [usize; 5]) -> Answer<usize> {
    let ret: isize;
    // SAFETY: the caller's contract; the kernel clobbers rcx and r11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

/// A NUL-terminated path, as the kernel reads it.
fn c_path(path: &[u8]) -> Answer<usize> {
    match path.last() {
        Some(0) => Ok(path.as_ptr() as usize),
        _ => Err(EINVAL),
    }
}

pub fn openat(dir: i32, path: &[u8], flags: i32, mode: u32) -> Answer<i32> {
    let path = c_path(path)?;
    let flags = (flags | O_CLOEXEC) as usize;
    // SAFETY: the path is NUL-terminated and outlives the call.
    let fd = unsafe { syscall(SYS_OPENAT, [dir as usize, path, flags, mode as usize, 0]) }?;
    Ok(fd as i32)
}

pub fn close(fd: i32) {
    // SAFETY: no memory is involved; an error leaves nothing to undo.
    let _ = unsafe { syscall(SYS_CLOSE, [fd as usize, 0, 0, 0, 0]) };
}

/// One `write(2)` of all of `data` (sysctl files take a value in one call).
pub fn write_all_once(fd: i32, data: &[u8]) -> Answer<()> {
    let (ptr, len) = (data.as_ptr() as usize, data.len());
    // SAFETY: the kernel reads `len` bytes of `data`.
    match unsafe { syscall(SYS_WRITE, [fd as usize, ptr, len, 0, 0]) } {
        Ok(n) if n == len => Ok(()),
        Ok(_) => Err(EIO),
        Err(e) => Err(e),
    }
}

pub fn mkdirat(dir: i32, path: &[u8], mode: u32) -> Answer<()> {
    let path = c_path(path)?;
    // SAFETY: the path is NUL-terminated.
    unsafe { syscall(SYS_MKDIRAT, [dir as usize, path, mode as usize, 0, 0]) }.map(drop)
}

pub fn unlinkat(dir: i32, path: &[u8]) -> Answer<()> {
    let path = c_path(path)?;
    // SAFETY: the path is NUL-terminated.
    unsafe { syscall(SYS_UNLINKAT, [dir as usize, path, 0, 0, 0]) }.map(drop)
}

pub fn unshare(flags: usize) -> Answer<()> {
    // SAFETY: no memory is involved.
    unsafe { syscall(SYS_UNSHARE, [flags, 0, 0, 0, 0]) }.map(drop)
}

/// `flock(LOCK_EX)`, waiting through signals.
pub fn lock_exclusive(fd: i32) -> Answer<()> {
    loop {
        // SAFETY: no memory is involved.
        match unsafe { syscall(SYS_FLOCK, [fd as usize, LOCK_EX as usize, 0, 0, 0]) } {
            Err(EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

pub fn bind_mount(source: &[u8], target: &[u8]) -> Answer<()> {
    let (source, target) = (c_path(source)?, c_path(target)?);
    // SAFETY: both paths are NUL-terminated; no filesystem type or data.
    unsafe { syscall(SYS_MOUNT, [source, target, 0, MS_BIND, 0]) }.map(drop)
}

pub fn umount2(target: &[u8], flags: usize) -> Answer<()> {
    let target = c_path(target)?;
    // SAFETY: the path is NUL-terminated.
    unsafe { syscall(SYS_UMOUNT2, [target, flags, 0, 0, 0]) }.map(drop)
}

/// Device and inode of `path` below `dir` (`""` with `AT_EMPTY_PATH`:
/// `dir` itself); `flags` may add `AT_SYMLINK_NOFOLLOW`.
pub fn stat_at(dir: i32, path: &[u8], flags: i32) -> Answer<(u64, u64)> {
    let path = c_path(path)?;
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    let flags = flags as usize;
    let buf = st.as_mut_ptr() as usize;
    // SAFETY: the kernel fills the whole `struct stat` on success.
    unsafe { syscall(SYS_NEWFSTATAT, [dir as usize, path, buf, flags, 0]) }?;
    // SAFETY: the call succeeded, so the kernel wrote it.
    let st = unsafe { st.assume_init_ref() };
    Ok((st.st_dev, st.st_ino))
}

/// The effective capability set (both 32-bit words).
pub fn effective_caps() -> Answer<u64> {
    let header = [super::caps::VERSION_3, 0];
    // effective, permitted, inheritable; twice (two words each).
    let mut data = [0u32; 6];
    let (h, d) = (header.as_ptr() as usize, data.as_mut_ptr() as usize);
    // SAFETY: a version 3 header and room for two data structs.
    unsafe { syscall(SYS_CAPGET, [h, d, 0, 0, 0]) }?;
    Ok(u64::from(data[0]) | (u64::from(data[3]) << 32))
}

pub fn fsopen(fs_name: &[u8], flags: usize) -> Answer<i32> {
    let name = c_path(fs_name)?;
    // SAFETY: the name is NUL-terminated.
    unsafe { syscall(SYS_FSOPEN, [name, flags, 0, 0, 0]) }.map(|fd| fd as i32)
}

/// `fsconfig` with a command and no key, value or aux argument.
pub fn fsconfig_cmd(fd: i32, cmd: usize) -> Answer<()> {
    // SAFETY: the commands used take no pointer.
    unsafe { syscall(SYS_FSCONFIG, [fd as usize, cmd, 0, 0, 0]) }.map(drop)
}

pub fn fsmount(fd: i32, flags: usize, attrs: usize) -> Answer<i32> {
    // SAFETY: no memory is involved.
    unsafe { syscall(SYS_FSMOUNT, [fd as usize, flags, attrs, 0, 0]) }.map(|fd| fd as i32)
}

/// What the kernel put on a new process's stack, as the fast path reads it.
pub struct InitialStack<'a> {
    pub argv: CStrings<'a>,
    pub envp: CStrings<'a>,
    /// `AT_SECURE` of the auxiliary vector: setuid, setgid or file
    /// capabilities (true if the kernel left it out).
    pub secure: bool,
}

/// # Safety
/// `sp` is the stack pointer at the ELF entry point: argc, argc pointers
/// and a NULL, the environment up to a NULL, then (type, value) pairs up
/// to `AT_NULL`, as the kernel lays them out.
pub unsafe fn initial_stack(sp: *const usize) -> InitialStack<'static> {
    const AT_NULL: usize = 0;
    const AT_SECURE: usize = 23;
    // SAFETY: the layout above, guaranteed by the kernel's ELF loader; the
    // strings live as long as the process.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1).cast::<*const u8>();
        let envp = argv.add(argc + 1);
        let mut envc = 0;
        while !(*envp.add(envc)).is_null() {
            envc += 1;
        }
        let mut aux = envp.add(envc + 1).cast::<usize>();
        let mut secure = true;
        while *aux != AT_NULL {
            if *aux == AT_SECURE {
                secure = *aux.add(1) != 0;
            }
            aux = aux.add(2);
        }
        InitialStack {
            argv: CStrings::new(core::slice::from_raw_parts(argv, argc)),
            envp: CStrings::new(core::slice::from_raw_parts(envp, envc)),
            secure,
        }
    }
}

pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: ends the process; nothing is read.
        let _ = unsafe { syscall(SYS_EXIT_GROUP, [code as usize, 0, 0, 0, 0]) };
    }
}
