//! The core pinner, for real: every CRI-O argv form, the strictness rules,
//! and all-or-nothing rollback. Runs as root.

use crate::common;

use common::*;
use std::os::unix::fs::MetadataExt;

const POD_SYSCTLS: [&str; 2] = ["net.ipv4.ip_forward", "kernel.shm_rmid_forced"];

#[test]
fn crio_form_pins_new_namespaces_with_sysctls_inside() {
    let t = TestDir::new();
    let host_forward = host_sysctl("net.ipv4.ip_forward");
    let host_rmid = host_sysctl("kernel.shm_rmid_forced");
    let forward = if host_forward == "1" { "0" } else { "1" };
    let rmid = if host_rmid == "1" { "0" } else { "1" };
    t.pin(
        "pod-a",
        &[
            "-s",
            &format!("net.ipv4.ip_forward={forward}"),
            "-s",
            &format!("kernel.shm_rmid_forced={rmid}"),
            "-s",
            "kernel.hostname=pod-a-host",
            "--ipc",
            "--uts",
            "--net",
        ],
    );
    t.pin("pod-b", &["-i", "-u", "-n"]);

    for kind in ["net", "ipc", "uts"] {
        let a = ns_inode(t.pin_path(kind, "pod-a"));
        let b = ns_inode(t.pin_path(kind, "pod-b"));
        let mine = ns_inode(format!("/proc/self/ns/{kind}"));
        assert_ne!(a, mine, "{kind} pin is the caller's namespace");
        assert_ne!(a, b, "two pods share a {kind} namespace");
    }
    let mut nsfs = t.nsfs_mounts();
    nsfs.sort();
    assert_eq!(nsfs.len(), 6, "{nsfs:?}");

    assert_eq!(t.sysctl_in("pod-a", "net", "net.ipv4.ip_forward"), forward);
    assert_eq!(t.sysctl_in("pod-a", "ipc", "kernel.shm_rmid_forced"), rmid);
    assert_eq!(in_pins(&t, "pod-a", &["uts"], "hostname"), "pod-a-host");
    assert_eq!(
        host_sysctl("net.ipv4.ip_forward"),
        host_forward,
        "host sysctl changed"
    );
    assert_eq!(
        host_sysctl("kernel.shm_rmid_forced"),
        host_rmid,
        "host sysctl changed"
    );
}

#[test]
fn host_forms_pin_the_callers_namespaces() {
    let t = TestDir::new();
    t.pin(
        "hostpod",
        &["--net=host", "--ipc=host", "--uts", "--cgroup=host"],
    );
    for kind in ["net", "ipc", "cgroup"] {
        assert_eq!(
            ns_inode(t.pin_path(kind, "hostpod")),
            ns_inode(format!("/proc/self/ns/{kind}")),
            "{kind}=host is not the caller's namespace"
        );
    }
    assert_ne!(
        ns_inode(t.pin_path("uts", "hostpod")),
        ns_inode("/proc/self/ns/uts")
    );
}

#[test]
fn long_forms_and_cgroup_namespace() {
    let t = TestDir::new();
    let d = format!("--dir={}", path_str(&t.pins()));
    pin_ok(&[
        &d,
        "--filename=long",
        "--sysctl=net.ipv4.ip_forward=1",
        "--net",
        "--cgroup",
    ]);
    assert_ne!(
        ns_inode(t.pin_path("cgroup", "long")),
        ns_inode("/proc/self/ns/cgroup")
    );
    assert_eq!(t.sysctl_in("long", "net", "net.ipv4.ip_forward"), "1");
}

#[test]
fn user_namespace_pod_owns_its_namespaces() {
    let t = TestDir::new();
    t.pin(
        "userpod",
        &[
            "--user",
            "--uid-mapping=0-200000-65536@",
            "--gid-mapping=0-300000-1000@1000-400000-1000@",
            "--net",
            "--ipc",
            "--uts",
            "-s",
            "kernel.shm_rmid_forced=1",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.hostname=userpod",
        ],
    );
    let uid_map = in_pins(&t, "userpod", &["user"], "cat /proc/self/uid_map");
    let gid_map = in_pins(&t, "userpod", &["user"], "cat /proc/self/gid_map");
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(words(&uid_map), words("0 200000 65536"));
    assert_eq!(words(&gid_map), words("0 300000 1000 1000 400000 1000"));

    let userns = ns_inode(t.pin_path("user", "userpod"));
    assert_ne!(userns, ns_inode("/proc/self/ns/user"));
    for kind in ["net", "ipc", "uts"] {
        let f = std::fs::File::open(t.pin_path(kind, "userpod")).unwrap();
        let owner = pinns::sys::owner_userns_inode(std::os::fd::AsFd::as_fd(&f)).unwrap();
        assert_eq!(
            owner, userns,
            "{kind} namespace is not owned by the pinned user namespace"
        );
    }
    let in_pod = |kinds: &[&str], script| in_pins(&t, "userpod", kinds, script);
    assert_eq!(
        in_pod(&["user", "ipc"], "cat /proc/sys/kernel/shm_rmid_forced"),
        "1"
    );
    assert_eq!(
        in_pod(&["user", "net"], "cat /proc/sys/net/ipv4/ip_forward"),
        "1"
    );
    assert_eq!(in_pod(&["user", "uts"], "hostname"), "userpod");
    // No process keeps the user namespace alive: only the pin does.
    assert!(
        processes_in("user", userns).is_empty(),
        "helper process left behind"
    );
}

#[test]
fn existing_empty_file_is_used_and_keeps_its_owner() {
    let t = TestDir::new();
    let target = t.pin_path("net", "precreated");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::chown(&target, Some(100000), Some(100000)).unwrap();
    t.pin("precreated", &["--net"]);
    assert_eq!(t.nsfs_mounts(), vec![target.clone()]);
    assert_ne!(ns_inode(&target), ns_inode("/proc/self/ns/net"));
    // Below the mount, the file CRI-O created and chowned is untouched.
    nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH).unwrap();
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (100000, 100000));
}

#[test]
fn mount_namespace_pins_twice_in_the_same_dir() {
    let t = TestDir::new();
    t.pin("mnt", &["-m"]);
    t.pin("mnt2", &["--mnt"]);
    let a = ns_inode(t.pin_path("mnt", "mnt"));
    let b = ns_inode(t.pin_path("mnt", "mnt2"));
    assert_ne!(a, b);
    assert_ne!(a, ns_inode("/proc/self/ns/mnt"));
    let mntns_dir = t.pins().join("mntns");
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(path_str(&mntns_dir)))
        .expect("DIR/mntns is a mount point");
    assert!(
        line.contains("unbindable"),
        "DIR/mntns is not unbindable: {line}"
    );
    // A process entering the pin sees a mount namespace of its own.
    let seen = in_pins(&t, "mnt", &["mnt"], "readlink /proc/self/ns/mnt");
    assert_eq!(seen, format!("mnt:[{a}]"));
}

/// Pids whose namespace of `kind` has inode `ino`.
fn processes_in(kind: &str, ino: u64) -> Vec<i32> {
    pinns::procs::pids()
        .into_iter()
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
                .map(|m| m.ino() == ino)
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn version_and_help_succeed() {
    let (status, out, _) = run(&["--version"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("pinns "), "{out}");
    let (status, out, _) = run(&["--help"]);
    assert_eq!(status, 0);
    for flag in ["--dir", "--filename", "--sysctl", "--net", "--uid-mapping"] {
        assert!(out.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn sysctls_are_untouched_on_the_host() {
    let t = TestDir::new();
    let before = t.snapshot(&POD_SYSCTLS);
    t.pin(
        "p",
        &[
            "--net",
            "--ipc",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shm_rmid_forced=1",
        ],
    );
    assert_eq!(t.snapshot(&POD_SYSCTLS).sysctls, before.sysctls);
}

#[test]
fn mount_namespace_propagation_slave_keeps_its_mounts_from_the_host() {
    let t = TestDir::new();
    // A shared mount of our own, as / is on systemd hosts.
    let shared = t.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let mount = |args: &[&str]| {
        let status = std::process::Command::new("mount")
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "mount {args:?}");
    };
    mount(&["--bind", path_str(&shared), path_str(&shared)]);
    mount(&["--make-shared", path_str(&shared)]);

    t.pin("kubens", &["-m", "--mnt-propagation=slave"]);
    t.pin("plain", &["-m"]);
    for name in ["kubens", "plain"] {
        let inner = shared.join(name);
        std::fs::create_dir(&inner).unwrap();
        in_pins(
            &t,
            name,
            &["mnt"],
            &format!("mount -t tmpfs tmpfs {}", inner.display()),
        );
    }
    let host_mounts: Vec<_> = t.mounts().into_iter().map(|(p, _)| p).collect();
    assert!(
        !host_mounts.contains(&shared.join("kubens")),
        "a slave namespace's mount reached the host"
    );
    assert!(
        host_mounts.contains(&shared.join("plain")),
        "unchanged propagation should behave as CRI-O's helper"
    );
    let info = in_pins(&t, "kubens", &["mnt"], "cat /proc/self/mountinfo");
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(path_str(&shared)))
        .unwrap();
    assert!(
        line.contains("master:") && !line.contains("shared:"),
        "{line}"
    );
}
