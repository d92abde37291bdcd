//! Pods found other ways than by pin name: `--pid` of a runc container (and
//! a PID that exits before the join), and a CRI pod resolved by crictl.

use super::{field, inode_in, NS_SCRIPT};
use crate::common;
use common::runc::Bundle;
use common::{assert_one_line_error, ns_inode, run, TestDir, BIN};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[test]
fn enters_a_runc_container_by_pid() {
    let t = TestDir::new();
    t.pin(
        "ctr-pod",
        &["-n", "-i", "-u", "-s", "kernel.hostname=ctr-pod"],
    );
    let bundle = Bundle::new(t.path().join("bundle"))
        .file("/marker", "inside-the-container\n")
        .join_namespace("network", t.pin_path("net", "ctr-pod"))
        .join_namespace("ipc", t.pin_path("ipc", "ctr-pod"))
        .join_namespace("uts", t.pin_path("uts", "ctr-pod"));
    let ctr = bundle.run("pinns-enter");
    let pid = ctr.pid.to_string();

    let script = format!("{NS_SCRIPT}; echo host=$(hostname); echo marker=$(cat /marker); echo me=$$; grep Cpus_allowed_list /proc/self/status");
    let (code, out, err) = run(&["enter", "--pid", &pid, "--", "/bin/sh", "-c", &script]);
    assert_eq!(code, 0, "{err}\n{}", ctr.output());
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "ctr-pod")),
            "{kind}: {out}"
        );
    }
    for kind in ["mnt", "pid"] {
        let container = ns_inode(format!("/proc/{pid}/ns/{kind}"));
        assert_eq!(inode_in(&out, kind), container, "{kind}: {out}");
        assert_ne!(container, ns_inode(format!("/proc/self/ns/{kind}")));
    }
    assert_eq!(field(&out, "host="), "ctr-pod");
    assert_eq!(field(&out, "marker="), "inside-the-container");
    // Forked into the container's PID namespace, where its init is 1.
    let me: i32 = field(&out, "me=").parse().unwrap();
    assert!(me > 1 && me < 100, "pid {me} is not a container pid");
    // The container's sleep is SCHED_OTHER and unpinned: nothing to avoid.
    assert_eq!(
        field(&out, "Cpus_allowed_list:"),
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .unwrap()
            .trim()
    );

    // Narrowed to the PID namespace only: the host's mount namespace.
    let (code, out, err) = run(&[
        "enter", "--pid", &pid, "--pidns", "--", "sh", "-c", NS_SCRIPT,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        inode_in(&out, "pid"),
        ns_inode(format!("/proc/{pid}/ns/pid"))
    );
    assert_eq!(inode_in(&out, "mnt"), ns_inode("/proc/self/ns/mnt"));
    assert_eq!(inode_in(&out, "net"), ns_inode("/proc/self/ns/net"));
}

/// `crictl inspectp -o json` of a pod of a real CRI-O 1.36.3 (see
/// tests/fixtures/README.md), its pin paths moved into the test's DIR.
const FIXTURE: &str = include_str!("../../fixtures/crio-1.36/crictl-inspectp-plain-pod.json");
const FIXTURE_UUID: &str = "47989609-ad0a-4377-93b6-6619d5c81755";
const FIXTURE_ID: &str = "69ac56ccad967f68d18d9e8384f52d8dcc49e2f982e924ed052b74b0edeecfb3";

/// A `crictl` on PATH that answers `inspectp -o json <the fixture's id>` with
/// the fixture, its /var/run pins moved to `pins`, and fails otherwise.
fn fake_crictl(t: &TestDir, pins: &Path) -> PathBuf {
    let bin = t.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let answer = t.path().join("inspectp.json");
    let json = FIXTURE.replace("\"/var/run/", &format!("\"{}/", pins.display()));
    std::fs::write(&answer, json).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1 $2 $3\" = \"inspectp -o json\" ] && [ \"$4\" = {FIXTURE_ID} ]; then cat {}; exit 0; fi\n\
         echo \"getting sandbox status of pod \\\"$4\\\": rpc error: code = NotFound desc = could not find pod\" >&2\nexit 1\n",
        answer.display()
    );
    // Written here, installed by a child: see copy_executable.
    let source = t.path().join("crictl.sh");
    std::fs::write(&source, script).unwrap();
    let crictl = bin.join("crictl");
    common::copy_executable(&source, &crictl);
    std::fs::set_permissions(&crictl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn enters_a_cri_pod_resolved_by_crictl() {
    let t = TestDir::new();
    t.pin(
        FIXTURE_UUID,
        &["-n", "-i", "-u", "-s", "kernel.hostname=cnf-du-0"],
    );
    let bin = fake_crictl(&t, &t.pins());
    let script = format!("{NS_SCRIPT}; echo host=$(hostname)");
    let out = Command::new(BIN)
        .args(["enter", "--pod", FIXTURE_ID, "--", "sh", "-c", &script])
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&stdout, kind),
            ns_inode(t.pin_path(kind, FIXTURE_UUID)),
            "{kind}"
        );
    }
    assert_eq!(field(&stdout, "host="), "cnf-du-0");

    let out = Command::new(BIN)
        .args(["enter", "--pod", "no-such-pod", "--", "true"])
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "could not find pod",
    );

    // Without crictl: a clear error.
    let out = Command::new(BIN)
        .args(["enter", "--pod", FIXTURE_ID, "--", "true"])
        .env("PATH", t.path().join("empty-path"))
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "needs crictl, which is not installed",
    );
}

/// `--pid`: the process is held by a pidfd from before its namespace files
/// are opened; if it is gone by the time they are (here: killed and reaped
/// while strace holds pinns at its liveness check), its PID may already
/// name another process, so nothing is joined and nothing runs.
#[test]
fn a_pid_that_exits_between_lookup_and_join_is_refused() {
    let t = TestDir::new();
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let trace = t.path().join("strace.out");
    let traced = Command::new("strace")
        .arg("-o")
        .arg(&trace)
        .args(["-e", "trace=pidfd_send_signal"])
        .args(["-e", "inject=pidfd_send_signal:delay_enter=3000000"])
        .args([BIN, "enter", "--pid", &target.id().to_string()])
        .args(["--", "sh", "-c", "echo the command ran"])
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strace (scripts/deps.sh installs it)");
    // strace writes the call's first half when pinns enters it, then delays it.
    common::wait_for_call(&trace, "pidfd_send_signal(");
    target.kill().unwrap();
    target.wait().unwrap();
    let out = traced.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("the command ran"), "{stdout}");
    assert_one_line_error(
        out.status.code().unwrap_or(-1),
        &stderr,
        "exited while its namespaces were being opened",
    );
}
