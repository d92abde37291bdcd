//! Sysctls and id maps against the real kernel: where the writes land (a
//! private procfs instance unless the mount API is unavailable or denied,
//! then the host's /proc/sys), what a user namespace changes, the largest
//! id map the kernel takes, and every argv real CRI-O 1.26 and 1.36 passed.
//! Runs as root. Shared here: the watched host sysctls.

mod crio_argv;
mod id_maps;
mod values;
mod write_path;

const WATCHED: [&str; 3] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
];
