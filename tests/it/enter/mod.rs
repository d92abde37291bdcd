//! `pinns enter`, for real, as root: pods pinned by the real binary, a
//! SCHED_FIFO process pinned to CPU 1, a runc container, a fake crictl that
//! prints a CRI-O-shaped `inspectp` answer pointing at real pins. Shared here:
//! running `pinns enter` and reading the fields its command prints.

mod bad_inputs;
mod cpus;
mod namespaces;
mod process;
mod targets;

use crate::common;
use common::{path_str, run, TestDir};

/// `pinns enter -d PINS <args>`, returning (status, stdout, stderr).
fn enter(t: &TestDir, args: &[&str]) -> (i32, String, String) {
    let pins = t.pins();
    let mut all = vec!["enter", "-d", path_str(&pins)];
    all.extend_from_slice(args);
    run(&all)
}

fn inode_in(output: &str, kind: &str) -> u64 {
    // `readlink /proc/self/ns/net` prints `net:[4026532250]`.
    let prefix = format!("{kind}:[");
    let line = output
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {kind} line in {output:?}"));
    line[prefix.len()..line.len() - 1].parse().expect("inode")
}

fn field<'a>(output: &'a str, key: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key:?} in {output:?}"))
        .trim()
}

const NS_SCRIPT: &str = "for k in net ipc uts mnt pid user; do readlink /proc/self/ns/$k; done";
