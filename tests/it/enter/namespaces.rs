//! Joining a pod's pinned namespaces: all of them, a selection, and a pinned
//! user namespace first, as its root.

use super::{enter, field, inode_in, NS_SCRIPT};
use crate::common;
use common::{ns_inode, TestDir};

#[test]
fn enters_the_pinned_namespaces_and_sees_the_pods_view() {
    let t = TestDir::new();
    t.pin(
        "pod-a",
        &[
            "-n",
            "-i",
            "-u",
            "-s",
            "kernel.hostname=pod-a",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shmmni=1234",
        ],
    );
    let script = format!(
        "{NS_SCRIPT}; echo host=$(hostname); echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); \
         echo shmmni=$(cat /proc/sys/kernel/shmmni); echo cgroup=$(cat /proc/self/cgroup | tr '\\n' ' ')"
    );
    let (code, out, err) = enter(&t, &["pod-a", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "pod-a")),
            "{kind}: {out}"
        );
    }
    // Not pinned, so not joined: still ours.
    for kind in ["mnt", "pid", "user"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(format!("/proc/self/ns/{kind}")),
            "{kind}: {out}"
        );
    }
    assert_eq!(field(&out, "host="), "pod-a");
    assert_eq!(field(&out, "fwd="), "1");
    assert_eq!(field(&out, "shmmni="), "1234");
    // The command stays in the caller's cgroup.
    let ours = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .replace('\n', " ");
    assert_eq!(field(&out, "cgroup="), ours.trim());
    assert_ne!(common::host_sysctl("kernel.hostname"), "pod-a");
}

#[test]
fn selection_flags_narrow_what_is_joined() {
    let t = TestDir::new();
    t.pin("pod-b", &["-n", "-i", "-u", "-s", "kernel.hostname=pod-b"]);
    let (code, out, err) = enter(&t, &["pod-b", "--uts", "--", "sh", "-c", NS_SCRIPT]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(inode_in(&out, "uts"), ns_inode(t.pin_path("uts", "pod-b")));
    assert_eq!(inode_in(&out, "net"), ns_inode("/proc/self/ns/net"));
    assert_eq!(inode_in(&out, "ipc"), ns_inode("/proc/self/ns/ipc"));
}

#[test]
fn enters_a_pinned_user_namespace_first_as_its_root() {
    let t = TestDir::new();
    t.pin(
        "pod-u",
        &[
            "-U",
            "--uid-mapping=0-200000-65536@",
            "--gid-mapping=0-200000-65536@",
            "-n",
            "-u",
            "-s",
            "kernel.hostname=pod-u",
        ],
    );
    let script = format!("{NS_SCRIPT}; echo uid=$(id -u); echo host=$(hostname)");
    let (code, out, err) = enter(&t, &["pod-u", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    for kind in ["user", "net", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "pod-u")),
            "{kind}: {out}"
        );
    }
    assert_eq!(field(&out, "uid="), "0");
    assert_eq!(field(&out, "host="), "pod-u");
}
