//! A pod's life through CRI-O: run, stop and remove (also when the test
//! fails), twenty at once, CRI-O restarted under live pods, and a pod with
//! an infra (pause) container.

use super::{assert_ns_dir_empty, ctr_ns, ctr_sysctl, pin, start, start_default};
use crate::common;
use crate::common::crio;
use common::ns_inode;
use crio::{pinns_under_test, Crio, Ctr, Options, Pod};
use std::path::PathBuf;

#[test]
fn a_failing_case_still_leaves_nothing_behind() {
    let Some(tools) = crio::tools_or_skip() else {
        return;
    };
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let crio = Crio::start_with(tools, &pinns_under_test(), &Options::default());
        seen = Some((crio.root().to_path_buf(), crio.name().to_string()));
        let pod = Pod::new("doomed").sysctl("kernel.shm_rmid_forced", "1");
        let id = crio.runp(&pod);
        crio.start_ctr(&id, &pod, &Ctr::new("doomed-c"));
        assert!(!crio::cgroup_dirs(crio.name()).is_empty());
        panic!("deliberate failure with a pod and a container running");
    }));
    assert!(result.is_err(), "the case was meant to fail");
    let (root, name) = seen.expect("CRI-O had started");
    assert!(!root.exists(), "{} left", root.display());
    assert_eq!(common::mounts_under(&root), Vec::new(), "mounts left");
    assert_eq!(
        crio::cgroup_dirs(&name),
        Vec::<PathBuf>::new(),
        "cgroups left"
    );
    assert_eq!(
        crio::our_pids(&root, &name),
        Vec::<i32>::new(),
        "processes left"
    );
    let results = std::fs::read_dir("/var/lib/cni/results")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .count();
    assert_eq!(results, 0, "CNI results left");
}

#[test]
fn plain_pod_runs_and_stopp_rmp_leave_nothing() {
    let Some(crio) = start_default() else {
        return;
    };
    let pod = Pod::new("plain");
    let id = crio.runp(&pod);
    let net = pin(&crio, &id, "network");
    assert!(net.starts_with(crio.ns_dir().join("netns")));
    let (_, mounts) = crio.ns_dir_contents();
    assert_eq!(mounts.len(), 3, "net, ipc and uts pinned: {mounts:?}");
    crio.remove_pod(&id);
    assert!(crio.pod_ids().is_empty());
    assert_ns_dir_empty(&crio);
}

#[test]
fn twenty_pods_at_once() {
    let Some(crio) = start_default() else {
        return;
    };
    const N: usize = 20;
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let crio = &crio;
                s.spawn(move || {
                    crio.runp(
                        &Pod::new(&format!("many-{i}"))
                            .hostname(&format!("many-{i}"))
                            .sysctl("net.ipv4.tcp_keepalive_time", &format!("{}", 600 + i)),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut listed = crio.pod_ids();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want, "all {N} pods known to CRI-O");
    let mut nets: Vec<u64> = ids
        .iter()
        .map(|id| ns_inode(pin(&crio, id, "network")))
        .collect();
    nets.sort_unstable();
    nets.dedup();
    assert_eq!(nets.len(), N, "each pod has its own network namespace");
    let (_, mounts) = crio.ns_dir_contents();
    assert_eq!(mounts.len(), 3 * N, "net, ipc and uts of each pod pinned");
    std::thread::scope(|s| {
        for id in &ids {
            let crio = &crio;
            s.spawn(move || crio.remove_pod(id));
        }
    });
    assert!(crio.pod_ids().is_empty());
    assert_ns_dir_empty(&crio);
}

#[test]
fn crio_restarted_with_pods_alive_keeps_them_and_their_pins() {
    let Some(mut crio) = start_default() else {
        return;
    };
    let pod = Pod::new("survivor")
        .hostname("survivor")
        .sysctl("net.ipv4.ip_forward", "1");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("survivor-c"));
    let other = crio.runp(&Pod::new("idle"));
    let pins: Vec<(PathBuf, u64)> = [&id, &other]
        .into_iter()
        .flat_map(|p| ["network", "ipc", "uts"].map(|t| pin(&crio, p, t)))
        .map(|p| {
            let ino = ns_inode(&p);
            (p, ino)
        })
        .collect();
    crio.restart();
    let mut listed = crio.pod_ids();
    listed.sort();
    let mut want = vec![id.clone(), other.clone()];
    want.sort();
    assert_eq!(listed, want, "both pods survive the restart");
    for (path, ino) in &pins {
        assert_eq!(ns_inode(path), *ino, "pin {} intact", path.display());
    }
    assert_eq!(crio.inspectp(&id)["status"]["state"], "SANDBOX_READY");
    assert_eq!(crio.exec(&ctr, &["hostname"]), "survivor");
    assert_eq!(ctr_sysctl(&crio, &ctr, "net.ipv4.ip_forward"), "1");
    assert_eq!(ctr_ns(&crio, &ctr, "net"), ns_inode(&pins[0].0));
    crio.remove_pod(&id);
    crio.remove_pod(&other);
    assert_ns_dir_empty(&crio);
}

#[test]
fn with_drop_infra_ctr_false_the_pod_has_a_pause_container_in_its_pins() {
    let Some(crio) = start(Options {
        drop_infra_ctr: false,
        ..Options::default()
    }) else {
        return;
    };
    let pod = Pod::new("paused").hostname("e2e-paused");
    let id = crio.runp(&pod);
    let info = crio.inspectp(&id);
    let pid = info["info"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no infra pid in inspectp: {}", info["info"]));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("infra cmdline");
    assert_eq!(cmdline, b"/catatonit\0-P\0", "the pause image's process");
    for (kind, oci) in [("net", "network"), ("ipc", "ipc"), ("uts", "uts")] {
        assert_eq!(
            ns_inode(format!("/proc/{pid}/ns/{kind}")),
            ns_inode(pin(&crio, &id, oci)),
            "{kind}: the pause process is in the pod's pinned namespace"
        );
    }
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("paused-c"));
    assert_eq!(crio.exec(&ctr, &["hostname"]), "e2e-paused");
    crio.remove_pod(&id);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != cmdline,
        "pause process gone"
    );
    assert_ns_dir_empty(&crio);
}
