//! The pin directory under attack: a `<type>ns` directory swapped for a
//! symlink between two steps of a pin, `DIR/mntns` swapped or shared, a
//! failing pin racing a good one, a mount point that is not UTF-8, and
//! pins made while sweeps run. Races are made deterministic with strace
//! (`delay_enter`/`delay_exit` to give the test time to swap, `error` to fail
//! a later step). Run as root. Shared here: running pinns under strace.

mod concurrent;
mod mount_table;
mod swaps;

use crate::common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ERRNO: &str = "ENOTRECOVERABLE";

/// Starts pinns under strace with the given strace options.
fn spawn_traced(strace_args: &[String], args: &[&str]) -> Child {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(strace_args)
        .arg(BIN)
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strace (apt-get install strace)")
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sh(script: &str) {
    stdout_ok(Command::new("sh").args(["-c", script]));
}
