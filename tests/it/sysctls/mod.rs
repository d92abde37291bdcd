//! Sysctls and id maps against the real kernel: where the writes land (the
//! host's /proc/sys on a sparse node, a private procfs instance on a dense
//! one unless the mount API is unavailable or denied), what a user namespace
//! changes, the largest id map the kernel takes, and every argv real CRI-O
//! 1.26 and 1.36 passed. Runs as root. Shared here: the watched host sysctls
//! and a node made dense with live pods.

mod crio_argv;
mod id_maps;
mod values;
mod write_path;

use crate::common;
use common::*;

const WATCHED: [&str; 3] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
];

/// Live pins from which pinns writes through a private procfs instance
/// (`DENSE_PODS` in src/sysctl_write.rs).
const DENSE: usize = 128;

/// Pins `live` pods (net+ipc, no sysctls) into `d`: a node that dense.
fn live_pods(d: &str, live: usize) {
    for i in 0..live {
        pin_ok(&["-d", d, "-f", &format!("live{i}"), "--net", "--ipc"]);
    }
}
