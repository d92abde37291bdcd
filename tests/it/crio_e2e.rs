//! End to end through a real CRI-O: pods made with `crictl` exactly as
//! kubelet makes them, with this crate's pinns as CRI-O's `pinns_path`.
//! Skips (one line) when no CRI-O is installed; CI sets `PINNS_REQUIRE_CRIO=1`
//! and `PINNS_TEST_CRIO_DIR` (see tests/it/common/crio/mod.rs).

use crate::common;
use crate::common::crio;

use common::{host_sysctl, ns_inode};
use crio::{ns_link_inode, owning_userns_inode, pinns_under_test, Crio, Ctr, Options, Pod};
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

#[test]
fn containers_of_a_pod_share_ipc_net_uts_and_another_pod_does_not() {
    let Some(crio) = start_default() else {
        return;
    };
    let a = Pod::new("share-a").hostname("share-a");
    let b = Pod::new("share-b").hostname("share-b");
    let a_id = crio.runp(&a);
    let b_id = crio.runp(&b);
    let a1 = crio.start_ctr(&a_id, &a, &Ctr::new("a1"));
    let a2 = crio.start_ctr(&a_id, &a, &Ctr::new("a2"));
    let b1 = crio.start_ctr(&b_id, &b, &Ctr::new("b1"));
    for (kind, oci) in [("net", "network"), ("ipc", "ipc"), ("uts", "uts")] {
        let (x1, x2, y1) = (
            ctr_ns(&crio, &a1, kind),
            ctr_ns(&crio, &a2, kind),
            ctr_ns(&crio, &b1, kind),
        );
        assert_eq!(x1, x2, "{kind}: both containers of one pod share it");
        assert_ne!(x1, y1, "{kind}: another pod has its own");
        assert_ne!(x1, host_ns(kind), "{kind}: not the host's");
        assert_eq!(x1, ns_inode(pin(&crio, &a_id, oci)), "{kind}: pod a's pin");
        assert_eq!(y1, ns_inode(pin(&crio, &b_id, oci)), "{kind}: pod b's pin");
    }
    assert_eq!(crio.exec(&a2, &["hostname"]), "share-a");
    assert_eq!(crio.exec(&b1, &["hostname"]), "share-b");
    // An IPC object made in one container is seen by its pod mate only.
    crio.exec(&a1, &["sh", "-c", "echo shared > /dev/shm/e2e"]);
    assert_eq!(crio.exec(&a2, &["cat", "/dev/shm/e2e"]), "shared");
    crio.remove_pod(&a_id);
    crio.remove_pod(&b_id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn host_network_and_host_ipc_pods_use_the_hosts() {
    let Some(crio) = start_default() else {
        return;
    };
    let net = Pod::new("hostnet")
        .hostname("e2e-hostnet")
        .host_network()
        .sysctl("kernel.shm_rmid_forced", "1");
    let ipc = Pod::new("hostipc").host_ipc();
    let net_id = crio.runp(&net);
    let ipc_id = crio.runp(&ipc);
    let nc = crio.start_ctr(&net_id, &net, &Ctr::new("hostnet-c"));
    let ic = crio.start_ctr(&ipc_id, &ipc, &Ctr::new("hostipc-c"));
    assert_eq!(ctr_ns(&crio, &nc, "net"), host_ns("net"));
    assert_ne!(ctr_ns(&crio, &nc, "ipc"), host_ns("ipc"));
    assert_ne!(ctr_ns(&crio, &nc, "uts"), host_ns("uts"));
    assert_eq!(ctr_sysctl(&crio, &nc, "kernel.shm_rmid_forced"), "1");
    assert_eq!(ctr_ns(&crio, &ic, "ipc"), host_ns("ipc"));
    assert_ne!(ctr_ns(&crio, &ic, "net"), host_ns("net"));
    crio.remove_pod(&net_id);
    crio.remove_pod(&ipc_id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn user_namespace_pod_is_mapped_owns_its_pins_and_has_its_sysctls() {
    let Some(crio) = start_default() else {
        return;
    };
    let pod = Pod::new("userns")
        .hostname("e2e-userns")
        .userns(100000, 65536)
        .sysctl("kernel.shm_rmid_forced", "1")
        .sysctl("net.ipv4.tcp_keepalive_time", "600")
        .sysctl("kernel.msgmax", "16384")
        // CRI-O 1.31+ narrows this to the mapped gids (0 65535) itself.
        .sysctl("net.ipv4.ping_group_range", "0 2147483647");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("userns-c"));
    let uid_map = crio.exec(&ctr, &["cat", "/proc/self/uid_map"]);
    let gid_map = crio.exec(&ctr, &["cat", "/proc/self/gid_map"]);
    for map in [&uid_map, &gid_map] {
        let fields: Vec<&str> = map.split_whitespace().collect();
        assert_eq!(fields, ["0", "100000", "65536"], "map inside: {map:?}");
    }
    let user = pin(&crio, &id, "user");
    assert_eq!(ctr_ns(&crio, &ctr, "user"), ns_inode(&user));
    for (kind, oci) in [("net", "network"), ("ipc", "ipc"), ("uts", "uts")] {
        let p = pin(&crio, &id, oci);
        assert_eq!(ctr_ns(&crio, &ctr, kind), ns_inode(&p), "{kind} pin joined");
        assert_eq!(
            owning_userns_inode(&p),
            ns_inode(&user),
            "{kind} pin owned by the pod's user namespace"
        );
    }
    assert_eq!(crio.exec(&ctr, &["hostname"]), "e2e-userns");
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.shm_rmid_forced"), "1");
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.tcp_keepalive_time"),
        "600"
    );
    assert_eq!(ctr_sysctl(&crio, &ctr, "kernel.msgmax"), "16384");
    assert_eq!(
        ctr_sysctl(&crio, &ctr, "net.ipv4.ping_group_range"),
        "0 65535"
    );
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

/// Runs this crate's pinns (not the one under test by CRI-O) with crictl of
/// the instance on PATH.
fn our_pinns(crio: &Crio, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pinns"))
        .args(args)
        .envs(crio.crictl_env())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run pinns")
}

fn ok_stdout(what: &str, out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `pinns enter --pod TARGET` into a pod with a running container: the
/// command sees the pod's hostname and network namespace.
fn check_enter_pod(by_name: bool) {
    let Some(crio) = start_default() else {
        return;
    };
    let name = if by_name {
        "enter-by-name"
    } else {
        "enter-by-id"
    };
    let pod = Pod::new(name).hostname("e2e-entered");
    let id = crio.runp(&pod);
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new(&format!("{name}-c")));
    let net_pin = pin(&crio, &id, "network");
    let dir = crio.ns_dir().display().to_string();
    let target = if by_name { name } else { id.as_str() };
    let enter = |cmd: &[&str]| {
        let mut args = vec!["enter", "-d", &dir, "--pod", target, "--"];
        args.extend_from_slice(cmd);
        ok_stdout("pinns enter --pod", our_pinns(&crio, &args))
    };
    assert_eq!(enter(&["cat", "/proc/sys/kernel/hostname"]), "e2e-entered");
    let net = ns_link_inode(&enter(&["readlink", "/proc/self/ns/net"]));
    assert_eq!(net, ns_inode(&net_pin), "the pod's pinned netns");
    assert_eq!(net, ctr_ns(&crio, &ctr, "net"), "the container's netns");
    let uts = ns_link_inode(&enter(&["readlink", "/proc/self/ns/uts"]));
    assert_eq!(uts, ctr_ns(&crio, &ctr, "uts"), "the container's utsns");
    crio.remove_pod(&id);
    assert_ns_dir_empty(&crio);
}

#[test]
fn enter_pod_by_id_joins_the_pod() {
    check_enter_pod(false);
}

// `--pod` promises ID or name; `crictl inspectp` resolves IDs (and ID
// prefixes) only, so a name fails today against real crictl.
#[test]
fn enter_pod_by_name_joins_the_pod() {
    check_enter_pod(true);
}

#[test]
fn cleanup_keep_from_crictl_keeps_live_pods_and_sweeps_orphans() {
    let Some(crio) = start_default() else {
        return;
    };
    // A pod CRI-O knows, with no process in its namespaces (no infra
    // container, no container): to the sweep it looks like an orphan.
    let id = crio.runp(&Pod::new("idle-but-live"));
    let kept: Vec<PathBuf> = ["network", "ipc", "uts"]
        .iter()
        .map(|t| pin(&crio, &id, t))
        .collect();
    let dir = crio.ns_dir().display().to_string();
    // A real orphan beside it: pinned directly, unknown to CRI-O.
    let orphan = "0d0e0a0d-0000-4000-8000-00000000e2e0";
    ok_stdout(
        "pinns (orphan)",
        our_pinns(
            &crio,
            &["-d", &dir, "-f", orphan, "--net", "--ipc", "--uts"],
        ),
    );
    let orphan_pins: Vec<PathBuf> = ["netns", "ipcns", "utsns"]
        .iter()
        .map(|k| crio.ns_dir().join(k).join(orphan))
        .collect();
    let sweep = [
        "cleanup",
        "-d",
        &dir,
        "--orphans",
        "--keep-from-crictl",
        "--older-than",
        "0s",
    ];

    // Without a runtime to ask, nothing is removed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pinns"))
        .args(sweep)
        .envs(crio.crictl_env())
        .env(
            "CONTAINER_RUNTIME_ENDPOINT",
            "unix:///nonexistent/crio.sock",
        )
        .env("CRI_CONFIG_FILE", crio.root().join("nonexistent.yaml"))
        .output()
        .expect("run pinns cleanup");
    assert!(
        !out.status.success(),
        "sweep without a reachable runtime succeeded"
    );
    for p in kept.iter().chain(&orphan_pins) {
        assert!(p.exists(), "{} removed although crictl failed", p.display());
    }

    let report = ok_stdout("pinns cleanup --keep-from-crictl", our_pinns(&crio, &sweep));
    for p in &kept {
        assert!(
            p.exists(),
            "live pod's pin {} removed: {report}",
            p.display()
        );
        assert_eq!(
            common::mounts_under(p).len(),
            1,
            "{} still mounted: {report}",
            p.display()
        );
    }
    for p in &orphan_pins {
        assert!(!p.exists(), "orphan {} kept: {report}", p.display());
    }
    // The kept pod is intact for CRI-O: a container joins it, then it goes.
    let pod = Pod::new("idle-but-live");
    let ctr = crio.start_ctr(&id, &pod, &Ctr::new("late-c"));
    assert_eq!(ctr_ns(&crio, &ctr, "net"), ns_inode(&kept[0]));
    crio.remove_pod(&id);
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
