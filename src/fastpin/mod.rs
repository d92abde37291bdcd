//! The fast pin path: CRI-O's usual pod pinned before the C library starts.
//!
//! Why. A pin is one short process per pod, and a static glibc's start-up
//! costs more than the pin's own system calls on a virtual machine: its CPU
//! feature probe runs dozens of `cpuid` instructions, each a trap to the
//! hypervisor (about 5 us each here), then tunables, the image's
//! relocation, thread-local storage and stdio. An empty static C program
//! takes 480 us to spawn and reap here, one that exits at its first
//! instruction 150 us (bench/RESULTS.md, "The fast pin path").
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
//! [`bytes`]), allocate, touch thread-local storage, read data holding
//! pointers (not relocated yet: tables are text, `sysctl::scope`), panic.
//! `packaging/check-fast-path.py` proves it on the built binary.
//!
//! Same effects as the full path, in the same order, with the same flags:
//! checks of DIR and the pin paths, the density rule of `sysctl_write`, one
//! `unshare`, the sysctls, the type directories, DIR's lock, then each pin
//! (`O_CREAT|O_EXCL`, bind mount). In a debug build, `PINNS_FAST_PATH=0` in
//! the environment turns it off, for tests that compare the two paths.

pub mod argv;
pub mod bytes;
#[cfg(target_arch = "x86_64")]
mod effects;
pub mod failure;

/// What [`entry`] returns to hand the process over to glibc's `_start`.
pub const HAND_OFF: i32 = -1;

/// Called by `_pinns_start` with the initial stack pointer; returns the
/// exit status, or [`HAND_OFF`].
///
/// # Safety
/// `sp` is the process's initial stack as the kernel laid it out: argc,
/// argv, NULL, envp, NULL, auxv.
#[cfg(target_arch = "x86_64")]
pub unsafe extern "C" fn entry(sp: *const usize) -> i32 {
    // SAFETY: the caller's contract.
    let stack = unsafe { Stack::read(sp) };
    if stack.secure || stack.disabled {
        return HAND_OFF;
    }
    // SAFETY: argv's strings live as long as the process.
    let args = unsafe { argv::Args::new(stack.argv) };
    match argv::parse(args) {
        Some(plan) => effects::pin(&plan),
        None => HAND_OFF,
    }
}

/// `PINNS_FAST_PATH=0`: a test seam, so in debug builds only (the shipped
/// binary obeys no such variable: packaging/ci-package-check.sh).
#[cfg(debug_assertions)]
fn turns_off(env: &[u8]) -> bool {
    bytes::eq(env, b"PINNS_FAST_PATH=0\0")
}

#[cfg(not(debug_assertions))]
fn turns_off(_env: &[u8]) -> bool {
    false
}

/// What the fast path reads off the initial stack.
struct Stack<'a> {
    argv: &'a [*const u8],
    /// `AT_SECURE`: setuid, setgid or file capabilities (the full path
    /// refuses to run so).
    secure: bool,
    /// `PINNS_FAST_PATH=0`, in a debug build.
    disabled: bool,
}

impl Stack<'_> {
    /// # Safety
    /// As [`entry`].
    unsafe fn read<'a>(sp: *const usize) -> Stack<'a> {
        const AT_NULL: usize = 0;
        const AT_SECURE: usize = 23;
        // SAFETY: the layout the kernel guarantees: argc, then argc
        // pointers and a NULL, then the environment up to a NULL, then
        // (type, value) pairs up to AT_NULL.
        unsafe {
            let argc = *sp;
            let argv = sp.add(1).cast::<*const u8>();
            let mut at = argv.add(argc + 1);
            let mut disabled = false;
            while !(*at).is_null() {
                disabled |= turns_off(bytes::c_string(*at));
                at = at.add(1);
            }
            let mut aux = at.add(1).cast::<usize>();
            let mut secure = true;
            while *aux != AT_NULL {
                if *aux == AT_SECURE {
                    secure = *aux.add(1) != 0;
                }
                aux = aux.add(2);
            }
            Stack {
                argv: core::slice::from_raw_parts(argv, argc),
                secure,
                disabled,
            }
        }
    }
}
