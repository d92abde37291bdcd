//! Capabilities, for real: each command refuses up front, in one line naming
//! what is missing, when run without a capability it needs (capsh --drop);
//! `enter --caps` gives the command exactly the set asked for; `inspect`
//! shows a pod process's effective capabilities.

use crate::common;

use common::{assert_one_line_error, path_str, pinns, TestDir, BIN};
use std::process::Command;

/// Runs pinns with `args` with `drop` removed from the bounding set (and so
/// from what an exec as root gets): (status, stdout, stderr).
fn run_without(drop: &str, args: &[&str]) -> (i32, String, String) {
    let line = std::iter::once(BIN.to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("capsh")
        .arg(format!("--drop={drop}"))
        .args(["--", "-c", &format!("exec {line}")])
        .output()
        .expect("run capsh (libcap2-bin)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_refuses_up_front_without_what_it_needs() {
    let t = TestDir::new();
    t.pin("pod", &["--net", "--uts"]);
    t.pin("mnt", &["--mnt"]);
    let d = path_str(&t.pins()).to_string();
    let d = d.as_str();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "cap_sys_admin",
            &["-d", d, "-f", "new", "--net"],
            "CAP_SYS_ADMIN",
        ),
        (
            "cap_sys_admin",
            &["pin", "-d", d, "-f", "new", "--ipc"],
            "CAP_SYS_ADMIN",
        ),
        (
            "cap_setuid",
            &[
                "-d",
                d,
                "-f",
                "new",
                "--user",
                "--uid-mapping=0-100000-65536",
                "--gid-mapping=0-100000-65536",
                "--net",
            ],
            "CAP_SETUID",
        ),
        (
            "cap_net_admin",
            &["-d", d, "-f", "new", "--net", "-s", "net.ipv4.ip_forward=1"],
            "CAP_NET_ADMIN",
        ),
        (
            "cap_sys_admin",
            &["cleanup", "-d", d, "-f", "pod"],
            "CAP_SYS_ADMIN",
        ),
        (
            "cap_sys_ptrace",
            &["cleanup", "-d", d, "--orphans", "--older-than", "0"],
            "CAP_SYS_PTRACE",
        ),
        ("cap_sys_ptrace", &["list", "-d", d], "CAP_SYS_PTRACE"),
        ("cap_sys_admin", &["list", "-d", d], "CAP_SYS_ADMIN"),
        (
            "cap_sys_admin",
            &["inspect", "-d", d, "pod"],
            "CAP_SYS_ADMIN",
        ),
        (
            "cap_sys_admin",
            &["enter", "-d", d, "pod", "--", "true"],
            "CAP_SYS_ADMIN",
        ),
        (
            "cap_sys_chroot",
            &["enter", "-d", d, "mnt", "--", "true"],
            "CAP_SYS_CHROOT",
        ),
    ];
    for (drop, args, needle) in cases {
        let before = t.snapshot(&[]);
        let (code, out, err) = run_without(drop, args);
        assert_one_line_error(code, &err, needle);
        assert!(
            err.contains("not in this process's effective capabilities"),
            "{err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(
            t.snapshot(&[]),
            before,
            "{args:?} without {drop} changed something"
        );
    }
    // What a command does not need is not asked for.
    let (code, _, err) = run_without("cap_sys_chroot", &["enter", "-d", d, "pod", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_without("cap_sys_ptrace", &["cleanup", "-d", d, "-f", "pod"]);
    assert_eq!(code, 0, "{err}");
}

/// The `Cap*:` and `NoNewPrivs:` lines of the command's own /proc/self/status.
fn status_of_entered(t: &TestDir, extra: &[&str]) -> String {
    common::stdout_ok(
        Command::new(BIN)
            .args(["enter", "-d", path_str(&t.pins()), "pod"])
            .args(extra)
            .args(["--", "grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"]),
    )
}

fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

#[test]
fn enter_caps_gives_the_command_exactly_that_set() {
    let t = TestDir::new();
    t.pin("pod", &["--net", "--uts"]);
    // cap_net_raw is 13, cap_sys_ptrace 19.
    for (list, hex) in [
        ("none", "0000000000000000"),
        ("cap_net_raw,cap_sys_ptrace", "0000000000082000"),
    ] {
        let status = status_of_entered(&t, &["--caps", list]);
        for key in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
            assert_eq!(field(&status, key), hex, "--caps {list}: {key}\n{status}");
        }
        assert_eq!(field(&status, "NoNewPrivs"), "1", "--caps {list}");
    }
    // Without --caps: what pinns has, as nsenter gives.
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let status = status_of_entered(&t, &[]);
    for key in ["CapEff", "CapBnd"] {
        assert_eq!(field(&status, key), field(&own, key), "{key}");
    }
    let (code, _, err) = common::run(&[
        "enter",
        "-d",
        path_str(&t.pins()),
        "pod",
        "--caps",
        "cap_fly",
    ]);
    common::assert_usage_error(code, &err, "unknown capability \"cap_fly\"");
}

#[test]
fn inspect_shows_each_process_effective_capabilities() {
    let t = TestDir::new();
    t.pin("pod", &["--net"]);
    let netns = t.pin_path("net", "pod");
    // A pod process with a container-like reduced set: cap_chown, cap_net_raw.
    let mut pod = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args([
            "setpriv",
            "--bounding-set=-all,+chown,+net_raw",
            "--",
            "sleep",
            "60",
        ])
        .spawn()
        .unwrap();
    let want = common::ns_inode(&netns);
    common::wait_until("the pod process to start", 10, || {
        let execed = std::fs::read_to_string(format!("/proc/{}/comm", pod.id()))
            .is_ok_and(|c| c.trim() == "sleep");
        common::is_in_ns(pod.id(), "net", want) && execed
    });
    let json = common::pinns_json(&["inspect", "-d", path_str(&t.pins()), "pod", "--json"]);
    let text = pinns()
        .args(["inspect", "-d", path_str(&t.pins()), "pod"])
        .output()
        .unwrap();
    let _ = pod.kill();
    let _ = pod.wait();
    let process = common::entry(&json, "processes", "pid", pod.id());
    assert_eq!(
        process["capabilities"],
        serde_json::json!(["cap_chown", "cap_net_raw"])
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("{}  cap_chown,cap_net_raw", pod.id())),
        "{text}"
    );
}
