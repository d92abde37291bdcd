//! End to end through a real CRI-O: pods made with `crictl` exactly as
//! kubelet makes them, with this crate's pinns as CRI-O's `pinns_path`.
//! Skips (one line) when no CRI-O is installed; CI sets `PINNS_REQUIRE_CRIO=1`
//! and `PINNS_TEST_CRIO_DIR` (see tests/it/common/crio/mod.rs). Shared here:
//! starting the instance and reading a container's namespaces and sysctls.

mod crictl_lookups;
mod lifecycle;
mod namespaces;
mod sysctl_handling;

use crate::common;
use crate::common::crio;
use common::ns_inode;
use crio::{ns_link_inode, pinns_under_test, Crio, Options};
use std::path::PathBuf;

fn start(options: Options) -> Option<Crio> {
    Crio::start(pinns_under_test(), options)
}

fn start_default() -> Option<Crio> {
    start(Options::default())
}

/// Nothing of the pods is left in namespaces_dir: no pin file, no mount.
fn assert_ns_dir_empty(crio: &Crio) {
    let (files, mounts) = crio.ns_dir_contents();
    assert!(files.is_empty(), "files left in namespaces_dir: {files:?}");
    assert!(
        mounts.is_empty(),
        "mounts left in namespaces_dir: {mounts:?}"
    );
}

/// The namespace inode a container sees for `kind` (net, ipc, uts, user).
fn ctr_ns(crio: &Crio, ctr: &str, kind: &str) -> u64 {
    ns_link_inode(&crio.exec(ctr, &["readlink", &format!("/proc/self/ns/{kind}")]))
}

fn host_ns(kind: &str) -> u64 {
    ns_inode(format!("/proc/self/ns/{kind}"))
}

/// A sysctl as the container reads it, separators made single spaces.
fn ctr_sysctl(crio: &Crio, ctr: &str, key: &str) -> String {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let raw = crio.exec(ctr, &["cat", &path]);
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pin(crio: &Crio, pod_id: &str, oci_type: &str) -> PathBuf {
    let path = crio
        .pod_ns_path(pod_id, oci_type)
        .unwrap_or_else(|| panic!("pod {pod_id} has no {oci_type} path"));
    assert!(
        path.starts_with(crio.ns_dir()),
        "{oci_type} of pod {pod_id} is not a pin under namespaces_dir: {}",
        path.display()
    );
    path
}
