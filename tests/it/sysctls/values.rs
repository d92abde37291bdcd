//! Keys and values: an unknown key refused before any change, blanks and
//! tabs, the IPC next_id keys, ping_group_range in a user namespace, and a
//! huge list refused in one line.

use super::WATCHED;
use crate::common;
use common::*;
use std::path::Path;
use std::process::Command;

/// An unknown key is found when written, inside the new namespaces (where
/// the lookup resolves), before any directory or mount is made: the
/// namespaces die with the process, so nothing is left behind.
#[test]
fn unknown_key_is_refused_before_any_change_on_every_path() {
    // The private procfs instance, and the host's /proc/sys without the
    // mount API.
    for inject in [None, Some("fsopen:error=ENOSYS")] {
        let t = TestDir::new();
        let d = path_str(&t.pins()).to_string();
        let args = ["-d", &d, "-f", "p", "--net", "-s", "net.ipv4.not_a_key=1"];
        let before = t.snapshot(&WATCHED);
        let log = tempfile::NamedTempFile::new().unwrap();
        let trace = log.path();
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o"]).arg(trace);
        cmd.args(["-e", "trace=openat,mkdir,mkdirat,mount,move_mount,fsmount"]);
        if let Some(inject) = inject {
            cmd.arg("-e").arg(format!("inject={inject}"));
        }
        let out = cmd.arg(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "does not exist");
        let trace = std::fs::read_to_string(trace).unwrap();
        assert!(
            trace.contains("not_a_key\", O_WRONLY"),
            "the key was never looked up: {trace}"
        );
        assert!(
            !trace.contains("mkdir")
                && !trace.contains(" mount(")
                && !trace.contains(" move_mount(")
                && !trace.contains("O_CREAT"),
            "changed something before refusing: {trace}"
        );
        assert_eq!(t.snapshot(&WATCHED), before);
    }
}

#[test]
fn tabs_and_runs_of_blanks_reach_the_kernel() {
    let t = TestDir::new();
    t.pin(
        "p",
        &[
            "--net",
            "--ipc",
            "-s",
            "net.ipv4.ip_local_port_range=20000\t40000",
            "-s",
            "kernel.sem=250  32000\t 32 128",
        ],
    );
    assert_eq!(
        t.sysctl_in("p", "net", "net.ipv4.ip_local_port_range"),
        "20000\t40000"
    );
    assert_eq!(t.sysctl_in("p", "ipc", "kernel.sem"), "250\t32000\t32\t128");
}

#[test]
fn ipc_next_id_keys_are_set_in_the_pod() {
    let t = TestDir::new();
    if !Path::new("/proc/sys/kernel/shm_next_id").exists() {
        panic!("this kernel lacks CONFIG_CHECKPOINT_RESTORE: kernel.shm_next_id cannot be tested");
    }
    t.pin(
        "p",
        &[
            "--ipc",
            "-s",
            "kernel.shm_next_id=7",
            "-s",
            "kernel.msg_next_id=8",
            "-s",
            "kernel.sem_next_id=9",
        ],
    );
    let got = in_pins(
        &t,
        "p",
        &["ipc"],
        "cat /proc/sys/kernel/shm_next_id /proc/sys/kernel/msg_next_id /proc/sys/kernel/sem_next_id",
    );
    assert_eq!(got.split_whitespace().collect::<Vec<_>>(), ["7", "8", "9"]);
}

#[test]
fn ping_group_range_is_narrowed_in_a_user_namespace_pod() {
    let t = TestDir::new();
    t.pin(
        "u",
        &[
            "--user",
            "--uid-mapping=0-100000-65536@",
            "--gid-mapping=0-100000-65536@",
            "--net",
            "-s",
            "net.ipv4.ping_group_range=0  2147483647",
        ],
    );
    // Read back inside: the pod's user namespace sees its own gids.
    assert_eq!(
        in_pins(
            &t,
            "u",
            &["user", "net"],
            "cat /proc/sys/net/ipv4/ping_group_range"
        ),
        "0\t65535"
    );
    // From the host the same range shows as the host gids it maps to.
    assert_eq!(
        t.sysctl_in("u", "net", "net.ipv4.ping_group_range"),
        "100000\t165535"
    );
    // Without a user namespace the value is written as given.
    t.pin(
        "n",
        &["--net", "-s", "net.ipv4.ping_group_range=0 2147483647"],
    );
    assert_eq!(
        t.sysctl_in("n", "net", "net.ipv4.ping_group_range"),
        "0\t2147483647"
    );
}

/// A huge `-s` list is judged in full and refused with one line (its cost
/// is measured by bench/many-sysctls.sh, not here).
#[test]
fn a_huge_sysctl_list_is_refused_cleanly() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    // 50,000 keys fit the default 2 MiB of exec arguments.
    let keys: Vec<String> = (0..50_000).map(|i| format!("net.x{i}=1")).collect();
    for (last, needle) in [
        ("vm.swappiness=1", "vm.swappiness is not namespaced"),
        ("net.x49999=2", "net.x49999 is given twice"),
        ("net.x50000=1", "net.x0 does not exist"),
    ] {
        let mut args = vec!["-d", d.as_str(), "-f", "many", "--net"];
        for k in &keys {
            args.extend(["-s", k.as_str()]);
        }
        args.extend(["-s", last]);
        let before = t.snapshot(&WATCHED);
        let (status, _, stderr) = run(&args);
        assert_one_line_error(status, &stderr, needle);
        assert_eq!(t.snapshot(&WATCHED), before);
    }
}
