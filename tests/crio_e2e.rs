//! End to end through a real CRI-O: pods made with `crictl` exactly as
//! kubelet makes them, with this crate's pinns as CRI-O's `pinns_path`.
//! Skips (one line) when no CRI-O is installed; CI sets `PINNS_REQUIRE_CRIO=1`
//! and `PINNS_TEST_CRIO_DIR` (see tests/crio/mod.rs).

mod crio;

use crio::{pinns_under_test, Crio, Options, Pod};

fn start(options: Options) -> Option<Crio> {
    Crio::start(pinns_under_test(), options)
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

#[test]
fn plain_pod_runs_and_stopp_rmp_leave_nothing() {
    let Some(crio) = start(Options::default()) else {
        return;
    };
    let pod = Pod::new("plain");
    let id = crio.runp(&pod);
    let net = crio
        .pod_ns_path(&id, "network")
        .expect("pod has a net path");
    assert!(
        net.starts_with(crio.ns_dir().join("netns")),
        "CRI-O gave the runtime a pinned netns: {}",
        net.display()
    );
    let (_, mounts) = crio.ns_dir_contents();
    assert_eq!(mounts.len(), 3, "net, ipc and uts pinned: {mounts:?}");
    crio.remove_pod(&id);
    assert!(crio.pod_ids().is_empty());
    assert_ns_dir_empty(&crio);
}
