//! `pinns enter --pod` and `cleanup --keep-from-crictl` looking pods up in the live
//! instance through its crictl.

use super::{assert_ns_dir_empty, ctr_ns, pin, start_default};
use crate::common;
use crate::common::crio;
use common::ns_inode;
use crio::{ns_link_inode, Crio, Ctr, Pod};
use std::path::PathBuf;

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
