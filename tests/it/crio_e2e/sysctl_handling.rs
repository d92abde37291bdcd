//! A pod's sysctls through CRI-O: seen by the container, refused ones failing
//! `runp` with nothing left, non-namespaced ones dropped by CRI-O, and the
//! IPC and multi-value cases pinns once refused.

use super::{assert_ns_dir_empty, ctr_sysctl, start, start_default};
use crate::common;
use crate::common::crio;
use common::host_sysctl;
use crio::{Crio, Ctr, Options, Pod};
use std::path::PathBuf;

const POD_SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "1"),
    ("kernel.shm_rmid_forced", "1"),
    ("net.ipv4.ip_local_port_range", "20000 40000"),
    ("net.ipv4.tcp_keepalive_time", "600"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
    ("kernel.msgmax", "16384"),
];

#[test]
fn sysctls_and_hostname_are_seen_by_the_container() {
    let Some(crio) = start(Options {
        default_sysctls: vec!["net.ipv4.tcp_fin_timeout=33".into()],
        ..Options::default()
    }) else {
        return;
    };
    let keys: Vec<&str> = POD_SYSCTLS.iter().map(|(k, _)| *k).collect();
    let host_before: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    let mut pod = Pod::new("sysctls").hostname("e2e-sysctls");
    for (k, v) in POD_SYSCTLS {
        pod = pod.sysctl(k, v);
    }
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("sysctls-c"));
    assert_eq!(crio.exec(&ctr, &["hostname"]), "e2e-sysctls");
    assert_eq!(
        crio.exec(&ctr, &["cat", "/proc/sys/kernel/hostname"]),
        "e2e-sysctls"
    );
    for (k, v) in POD_SYSCTLS {
        assert_eq!(&ctr_sysctl(&crio, &ctr, k), v, "{k} inside the pod");
    }
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.tcp_fin_timeout"),
        "33",
        "CRI-O's default_sysctls reach the pod"
    );
    let host_after: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    assert_eq!(host_before, host_after, "host sysctls untouched");
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}

/// Every cgroup left below this instance's cgroup parent.
fn pod_cgroups(crio: &Crio) -> Vec<PathBuf> {
    crio::cgroup_dirs(crio.cgroup_parent().trim_start_matches('/'))
        .into_iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

#[test]
fn refused_sysctls_fail_runp_and_leave_nothing() {
    let Some(crio) = start_default() else {
        return;
    };
    // CRI-O passes these on (net.* is namespaced to it); pinns must refuse
    // them: a value the kernel rejects, a key this kernel lacks, a value
    // that cannot be one (newline).
    let cases = [
        ("net.ipv4.ip_forward", "yes"),
        ("net.ipv4.no_such_sysctl", "1"),
        ("net.ipv4.tcp_keepalive_time", "600\n700"),
    ];
    let watched = ["net.ipv4.ip_forward", "net.ipv4.tcp_keepalive_time"];
    let host_before: Vec<String> = watched.iter().map(|k| host_sysctl(k)).collect();
    for (i, (key, value)) in cases.iter().enumerate() {
        let pod = Pod::new(&format!("refused-{i}"))
            .sysctl("kernel.shm_rmid_forced", "1")
            .sysctl(key, value);
        let out = crio.try_runp(&pod);
        assert!(
            !out.status.success(),
            "{key}={value:?}: runp succeeded; CRI-O called pinns so:\n{}",
            crio.pinns_calls().join("\n")
        );
        let refusal = format!("-s {key}=");
        assert!(
            crio.pinns_calls()
                .iter()
                .any(|l| l.contains("Pinns [") && l.contains(&refusal) && l.contains("failed")),
            "{key}={value:?}: pinns did not refuse it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(crio.pod_ids().is_empty(), "{key}: a pod is left");
        assert_ns_dir_empty(&crio);
        assert_eq!(
            pod_cgroups(&crio),
            Vec::<PathBuf>::new(),
            "{key}: cgroups left"
        );
    }
    let host_after: Vec<String> = watched.iter().map(|k| host_sysctl(k)).collect();
    assert_eq!(host_before, host_after, "host sysctls untouched");
    // The instance still works after the refusals.
    let id = crio.runp(&Pod::new("after-refusals"));
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn crio_drops_a_sysctl_that_is_not_namespaced_and_the_host_keeps_its_value() {
    let Some(crio) = start_default() else {
        return;
    };
    // CRI-O 1.36 itself filters keys no pod namespace holds: the pod runs,
    // pinns never sees the key, the host value stays.
    let host = host_sysctl("vm.swappiness");
    let value = if host == "10" { "11" } else { "10" };
    let pod = Pod::new("swappiness").sysctl("vm.swappiness", value);
    let id = crio.runp(&pod);
    let calls = crio.pinns_calls();
    assert!(
        calls.iter().any(|l| l.contains("Calling pinns")),
        "pinns was called: {calls:?}"
    );
    assert!(
        !calls.iter().any(|l| l.contains("vm.swappiness")),
        "CRI-O passed vm.swappiness to pinns: {calls:?}"
    );
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("swappiness-c"));
    assert_eq!(ctr_sysctl(&crio, &ctr, "vm.swappiness"), host);
    assert_eq!(host_sysctl("vm.swappiness"), host);
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}

// The two cases below are what real CRI-O showed pinns refusing wrongly
// (issue 10 section 1): they pass once pinns accepts every IPC-namespaced
// sysctl and values with the kernel's own separators.

#[test]
fn ipc_next_id_sysctls_reach_the_pod() {
    let Some(crio) = start_default() else {
        return;
    };
    let pod = Pod::new("next-id")
        .sysctl("kernel.shm_next_id", "1000")
        .sysctl("kernel.msg_next_id", "2000");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("next-id-c"));
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.shm_next_id"), "1000");
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.msg_next_id"), "2000");
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn tab_separated_multi_value_sysctl_reaches_the_pod() {
    let Some(crio) = start_default() else {
        return;
    };
    let pod = Pod::new("tab")
        .sysctl("net.ipv4.ip_local_port_range", "20000\t40000")
        .sysctl("net.ipv4.ping_group_range", "0  1000");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("tab-c"));
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.ip_local_port_range"),
        "20000 40000"
    );
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.ping_group_range"),
        "0 1000"
    );
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}
