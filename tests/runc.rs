//! A real OCI runtime joins the pins: what CRI-O does with a pause-less pod.

mod common;

use common::runc::Bundle;
use common::*;

fn pin_pod(t: &TestDir, name: &str, extra: &[&str]) {
    let d = path_str(&t.pins()).to_string();
    let mut args = vec!["-d", d.as_str(), "-f", name, "--net", "--ipc", "--uts"];
    args.extend_from_slice(extra);
    let (status, _, stderr) = run(&args);
    assert_eq!(status, 0, "pin {name}: {stderr}");
}

fn joins(t: &TestDir, name: &str) -> Vec<(&'static str, std::path::PathBuf)> {
    vec![
        ("network", t.pin_path("net", name)),
        ("ipc", t.pin_path("ipc", name)),
        ("uts", t.pin_path("uts", name)),
    ]
}

fn bundle(t: &TestDir, pod: &str, script: &str) -> Bundle {
    let joins = joins(t, pod);
    let joins: Vec<(&str, &std::path::Path)> =
        joins.iter().map(|(k, p)| (*k, p.as_path())).collect();
    Bundle::new(
        t.path(),
        &["/bin/busybox", "sh", "-c", script],
        &joins,
        None,
    )
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
    pin_pod(
        &t,
        "pod",
        &[
            "-s",
            &format!("net.ipv4.ip_forward={forward}"),
            "-s",
            "kernel.hostname=pod-host",
        ],
    );
    let out = bundle(
        &t,
        "pod",
        "busybox hostname; cat /proc/sys/net/ipv4/ip_forward; readlink /proc/self/ns/net",
    )
    .run();
    let out = stdout_of(out);
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
    pin_pod(&t, "pod-a", &["-s", "kernel.shm_rmid_forced=0"]);
    pin_pod(&t, "pod-b", &[]);
    let segments = "tail -n +2 /proc/sysvipc/shm | wc -l";

    // The first container makes a segment and stays up, as an app would.
    let first = bundle(
        &t,
        "pod-a",
        "/usr/bin/ipcmk -M 65536 && touch /tmp/ready && sleep 60",
    )
    .start();
    let mut ready = false;
    for _ in 0..100 {
        if stdout_of(first.exec(&["/bin/busybox", "ls", "/tmp"])).contains("ready") {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready, "first container never created its segment");
    let shmid_line =
        stdout_of(first.exec(&["/bin/busybox", "sh", "-c", "tail -n +2 /proc/sysvipc/shm"]));
    assert!(shmid_line.contains("65536"), "{shmid_line}");

    let same_pod = stdout_of(bundle(&t, "pod-a", segments).run());
    let other_pod = stdout_of(bundle(&t, "pod-b", segments).run());
    assert_eq!(
        same_pod, "1",
        "second container of the pod does not see the segment"
    );
    assert_eq!(other_pod, "0", "another pod sees this pod's segment");
    // Neither is the host's ipc namespace.
    assert_ne!(
        ns_inode(t.pin_path("ipc", "pod-a")),
        ns_inode("/proc/self/ns/ipc")
    );
}

#[test]
fn runtime_hostname_field_works_with_a_pinned_uts_namespace() {
    let t = TestDir::new();
    pin_pod(&t, "named", &[]);
    let joins = joins(&t, "named");
    let joins: Vec<(&str, &std::path::Path)> =
        joins.iter().map(|(k, p)| (*k, p.as_path())).collect();
    let b = Bundle::new(
        t.path(),
        &["/bin/busybox", "hostname"],
        &joins,
        Some("from-runtime"),
    );
    assert_eq!(stdout_of(b.run()), "from-runtime");
    // The hostname lives in the pinned namespace, after the container is gone.
    assert_eq!(in_pins(&t, "named", &["uts"], "hostname"), "from-runtime");
}
