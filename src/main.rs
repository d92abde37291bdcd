//! The entry point, and the one place that prints an error.
//!
//! `no_main`: pinns runs once per pod creation, and the Rust runtime's
//! start-up (finding the main thread's stack guard by parsing
//! /proc/self/maps, an alternate signal stack, handlers) cost about a sixth
//! of a pin's instructions while giving a short-lived helper nothing it
//! needs. SIGPIPE keeps its default action, as in C tools (`pinns list |
//! head` ends quietly) and as inherited by commands `pinns enter` runs.
// Test builds keep the harness's own main (this file has no tests).
#![cfg_attr(not(test), no_main)]

// The ELF entry point (`-e _pinns_start`, build.rs): the fast pin path runs
// first, on the kernel's initial stack, before glibc's start-up
// (`pinns::fastpin`); it exits, or jumps to glibc's `_start` with the stack
// and %rdx (the dynamic loader's exit hook, 0 when static) as they came.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
std::arch::global_asm!(
    ".globl _pinns_start",
    ".type _pinns_start, @function",
    "_pinns_start:",
    "mov rbx, rdx",
    "mov rdi, rsp",
    "call {fast}",
    "test eax, eax",
    "js 2f",
    "mov edi, eax",
    "mov eax, 231", // exit_group
    "syscall",
    "2:",
    "mov rdx, rbx",
    "jmp _start",
    fast = sym pinns::fastpin::entry,
);

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    // A bug must not break the one-line contract either: Rust's own panic
    // message spans lines.
    std::panic::set_hook(Box::new(|info| {
        pinns::output::log::error(&format!("internal error: {info}"))
    }));
    let code = match pinns::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => {
            // CRI-O logs our combined output: one line, tagged, says it all.
            if !matches!(err, pinns::error::Error::AlreadyReported) {
                pinns::output::log::error(&err.to_string());
            }
            err.exit_code()
        }
    };
    // exit() flushes stdout on the way out.
    std::process::exit(i32::from(code))
}
