//! The fast pin path: CRI-O's usual pod pinned before the C library starts.
//!
//! Why. A pin is one short process per pod, and a static glibc's start-up
//! costs more than the pin's own system calls on a virtual machine: its CPU
//! feature probe runs dozens of `cpuid` instructions, each a trap to the
//! hypervisor (about 5 us each here), then tunables, the image's
//! relocation, thread-local storage and stdio. An empty static C program
//! takes 540 us to spawn and reap here, one that exits at its first
//! instruction 170 us (`bench/startup.sh`; bench/RESULTS.md, "Density,
//! `enter` and `list`").
//!
//! How. The ELF entry point is `_pinns_start` (main.rs, linked with `-e` by
//! build.rs), which calls [`entry`] with the initial stack. If the command
//! line is in the subset [`argv`] takes, the pin is made here with raw
//! system calls ([`crate::sys::raw`]) and the process exits; otherwise,
//! and whenever anything is not as usual (DIR missing, something at a pin
//! path, a capability lacking), it returns [`HAND_OFF`] before changing
//! anything, or after undoing what it changed, and glibc's `_start` runs
//! the whole program, which has the final word. A failed system call is
//! recorded ([`failure`]) and reported by the whole program, in its words.
//!
//! What this code may not do, as it runs before glibc's start-up in a
//! static-pie: call libc (its string functions are not resolved yet:
//! `crate::bytes`), allocate, touch thread-local storage, read data holding
//! pointers (not relocated yet: tables are text, `sysctl::scope`), panic.
//! `packaging/check-fast-path.py` proves it on the built binary.
//!
//! Same effects as the full path, in the same order, with the same flags:
//! checks of DIR and the pin paths, the private procfs instance of
//! `sysctl_write`, one `unshare`, the sysctls, the type directories, DIR's
//! lock, then each pin (`O_CREAT|O_EXCL`, bind mount). In a debug build,
//! `PINNS_FAST_PATH=0` in the environment turns it off, for tests that
//! compare the two paths.

pub mod argv;
#[cfg(target_arch = "x86_64")]
mod effects;
pub mod failure;

/// What [`entry`] returns to hand the process over to glibc's `_start`.
pub const HAND_OFF: i32 = -1;

/// Called by `_pinns_start` with the initial stack pointer; returns the
/// exit status, or [`HAND_OFF`].
///
/// # Safety
/// `sp` is the process's initial stack as the kernel laid it out (see
/// [`crate::sys::raw::initial_stack`]).
#[cfg(target_arch = "x86_64")]
pub unsafe extern "C" fn entry(sp: *const usize) -> i32 {
    // SAFETY: the caller's contract (the only unsafe of this module).
    let stack = unsafe { crate::sys::raw::initial_stack(sp) };
    let off = (0..stack.envp.len()).any(|i| stack.envp.get(i).is_some_and(turns_off));
    if stack.secure || off {
        return HAND_OFF;
    }
    match argv::parse(stack.argv) {
        Some(plan) => effects::pin(&plan),
        None => HAND_OFF,
    }
}

/// `PINNS_FAST_PATH=0`: a test seam, so in debug builds only (the shipped
/// binary obeys no such variable: packaging/ci-package-check.sh).
#[cfg(debug_assertions)]
fn turns_off(env: &[u8]) -> bool {
    crate::bytes::eq(env, b"PINNS_FAST_PATH=0\0")
}

#[cfg(not(debug_assertions))]
fn turns_off(_env: &[u8]) -> bool {
    false
}
