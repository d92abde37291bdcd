//! A real OCI runtime joins the pins: what CRI-O does with a pause-less pod.

use crate::common;

use common::runc::Bundle;
use common::*;

/// A busybox container of `pod` running `script`.
fn bundle(t: &TestDir, pod: &str, script: &str) -> Bundle {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Bundle::new(t.path().join(format!("bundle-{n}")))
        .args(&["/bin/busybox", "sh", "-c", script])
        .join_pod(&t.pins(), pod)
        .host_usr()
}

fn stdout_of(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "container failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn container_sees_the_pods_sysctls_and_hostname() {
    let t = TestDir::new();
    let forward = if host_sysctl("net.ipv4.ip_forward") == "1" {
        "0"
    } else {
        "1"
    };
    let fwd = format!("net.ipv4.ip_forward={forward}");
    t.pin(
        "pod",
        &[
            "--net",
            "--ipc",
            "--uts",
            "-s",
            &fwd,
            "-s",
            "kernel.hostname=pod-host",
        ],
    );
    let script = "hostname; cat /proc/sys/net/ipv4/ip_forward; readlink /proc/self/ns/net";
    let out = stdout_of(bundle(&t, "pod", script).run_to_end("pinns-test"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "pod-host");
    assert_eq!(lines[1], forward);
    assert_eq!(
        lines[2],
        format!("net:[{}]", ns_inode(t.pin_path("net", "pod")))
    );
}

#[test]
fn containers_of_one_pod_share_ipc_and_other_pods_do_not() {
    let t = TestDir::new();
    t.pin(
        "pod-a",
        &["--net", "--ipc", "--uts", "-s", "kernel.shm_rmid_forced=0"],
    );
    t.pin_pod("pod-b");
    let segments = "tail -n +2 /proc/sysvipc/shm | wc -l";

    // The first container makes a segment and stays up, as an app would.
    let first = bundle(
        &t,
        "pod-a",
        "/usr/bin/ipcmk -M 65536 && touch /tmp/ready && sleep 60",
    )
    .run("pinns-test");
    let ready = (0..100).any(|_| {
        let out = first.exec(&["/bin/busybox", "ls", "/tmp"]);
        let found = String::from_utf8_lossy(&out.stdout).contains("ready");
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        found
    });
    assert!(
        ready,
        "first container never created its segment: {}",
        first.output()
    );
    let table =
        stdout_of(first.exec(&["/bin/busybox", "sh", "-c", "tail -n +2 /proc/sysvipc/shm"]));
    assert!(table.contains("65536"), "{table}");

    let same_pod = stdout_of(bundle(&t, "pod-a", segments).run_to_end("pinns-test"));
    let other_pod = stdout_of(bundle(&t, "pod-b", segments).run_to_end("pinns-test"));
    assert_eq!(
        same_pod, "1",
        "second container of the pod does not see the segment"
    );
    assert_eq!(other_pod, "0", "another pod sees this pod's segment");
    assert_ne!(
        ns_inode(t.pin_path("ipc", "pod-a")),
        ns_inode("/proc/self/ns/ipc")
    );
}

#[test]
fn runtime_hostname_field_lands_in_the_pinned_namespace() {
    let t = TestDir::new();
    t.pin_pod("named");
    let b = bundle(&t, "named", "hostname").hostname("from-runtime");
    assert_eq!(stdout_of(b.run_to_end("pinns-test")), "from-runtime");
    // The container is gone; the pod's UTS namespace keeps the name.
    assert_eq!(in_pins(&t, "named", &["uts"], "hostname"), "from-runtime");
}
