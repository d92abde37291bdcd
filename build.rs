//! Makes the fast pin path the ELF entry point of the `pinns` binary (see
//! `src/fastpin/mod.rs`); x86_64 Linux only, elsewhere glibc's `_start`.
fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "x86_64" && os == "linux" {
        println!("cargo:rustc-link-arg-bins=-Wl,-e,_pinns_start");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
