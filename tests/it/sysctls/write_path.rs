//! Where the writes land: a private procfs instance at any density, the
//! host's /proc/sys when the mount API is missing or denied, no instance
//! for keys set by syscall, and a failing private procfs that changes
//! nothing.

use super::WATCHED;
use crate::common;
use common::*;
use std::process::Command;

/// Pins net+ipc with two sysctls into an empty DIR, from inside
/// throwaway net and ipc namespaces (so a write that went to the caller's
/// namespaces would change only those), and checks each value is in the
/// pod and not in the caller. Returns the strace of the pin. Without a user
/// namespace that is the fast pin path's (src/fastpin/), or the full
/// path's when `full` (`PINNS_FAST_PATH=0`, debug builds).
fn writes_land_in_the_pod(inject: Option<&str>, user: bool, full: bool) -> String {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    std::fs::create_dir_all(t.pins()).unwrap();
    let mut args = vec![
        "-d",
        d.as_str(),
        "-f",
        "pod",
        "--net",
        "--ipc",
        "-s",
        "net.ipv4.ip_forward=1",
        "-s",
        "kernel.shm_rmid_forced=1",
    ];
    if user {
        args.extend([
            "--user",
            "--uid-mapping=0-100000-65536@",
            "--gid-mapping=0-100000-65536@",
        ]);
    }
    let log = tempfile::NamedTempFile::new().expect("trace file");
    let before = t.snapshot(&WATCHED);
    // `unshare` makes the caller's net and ipc namespaces new ones (ip_forward
    // and shm_rmid_forced 0 there), runs pinns under strace from them, then
    // prints the caller's values: the pins outlive it.
    let script = format!(
        "{env} strace -f -qq -o {trace} -e trace=fsopen,fsconfig,fsmount,move_mount,mount,openat {inject} {bin} {args} && \
         cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
        env = if full { "PINNS_FAST_PATH=0" } else { "" },
        trace = log.path().display(),
        inject = inject.map(|i| format!("-e inject={i}")).unwrap_or_default(),
        bin = BIN,
        args = args
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let caller: Vec<String> =
        stdout_ok(Command::new("unshare").args(["--net", "--ipc", "sh", "-c", &script]))
            .split_whitespace()
            .map(str::to_string)
            .collect();
    assert_eq!(
        caller,
        ["0", "0"],
        "a write reached the caller's namespaces"
    );
    let kinds: &[&str] = if user {
        &["user", "net", "ipc"]
    } else {
        &["net", "ipc"]
    };
    assert_eq!(
        in_pins(
            &t,
            "pod",
            kinds,
            "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced"
        )
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["1", "1"]
    );
    // The host's values are untouched too.
    assert_eq!(t.snapshot(&WATCHED).sysctls, before.sysctls);
    std::fs::read_to_string(log.path()).expect("read trace")
}

fn used_private_procfs(trace: &str) {
    assert!(
        trace.contains("fsopen(\"proc\"") && trace.contains("fsmount("),
        "no private procfs: {trace}"
    );
    assert!(
        !trace.contains("move_mount("),
        "the instance was attached: {trace}"
    );
    assert!(
        !trace.contains("\"/proc/sys/"),
        "/proc/sys was used: {trace}"
    );
}

/// The sysctl files were opened by their path under the host's /proc/sys.
fn used_host_proc_sys(trace: &str) {
    for file in ["net/ipv4/ip_forward", "kernel/shm_rmid_forced"] {
        assert!(
            trace.contains(&format!("\"/proc/sys/{file}\", O_WRONLY")),
            "{file} not opened under /proc/sys: {trace}"
        );
    }
}

fn fell_back(trace: &str, errno: &str) {
    assert!(
        trace
            .lines()
            .any(|l| l.contains("fsopen(\"proc\", FSOPEN_CLOEXEC)")
                && l.contains(&format!("= -1 {errno}"))
                && l.ends_with("(INJECTED)")),
        "fsopen did not fail with {errno}: {trace}"
    );
    assert!(!trace.contains("fsmount("), "{trace}");
    used_host_proc_sys(trace);
}

/// Nothing about the node is counted: the pin dir is empty here, and the
/// private instance is still what the writes go through, on both paths
/// and for the user namespace helper.
#[test]
fn the_private_procfs_is_used_on_an_empty_node() {
    for (user, full) in [(false, false), (false, true), (true, false)] {
        used_private_procfs(&writes_land_in_the_pod(None, user, full));
    }
}

/// `kernel.hostname` and `kernel.domainname` are set by syscall: no
/// instance is made for them.
#[test]
fn keys_set_by_syscall_make_no_procfs_instance() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let log = tempfile::NamedTempFile::new().expect("trace file");
    let args = ["-d", &d, "-f", "p", "--uts", "-s", "kernel.hostname=pod"];
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fsopen,sethostname", "-o"])
        .arg(log.path())
        .arg(BIN)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let trace = std::fs::read_to_string(log.path()).unwrap();
    assert!(trace.contains("sethostname(\"pod\""), "{trace}");
    assert!(!trace.contains("fsopen("), "{trace}");
    assert_eq!(in_pins(&t, "p", &["uts"], "hostname").trim(), "pod");
}

#[test]
fn without_the_mount_api_proc_sys_is_used() {
    for (user, full) in [(false, false), (false, true), (true, false)] {
        fell_back(
            &writes_land_in_the_pod(Some("fsopen:error=ENOSYS"), user, full),
            "ENOSYS",
        );
    }
}

#[test]
fn when_the_mount_api_is_denied_proc_sys_is_used() {
    for full in [false, true] {
        fell_back(
            &writes_land_in_the_pod(Some("fsopen:error=EPERM"), false, full),
            "EPERM",
        );
    }
}

/// The private procfs instance is made before any change:
/// a failure of any of its calls (other than the fallback errnos) is one
/// line naming the call, and leaves the node as it was.
#[test]
fn a_failing_private_procfs_changes_nothing() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let args = [
        "-d",
        d.as_str(),
        "-f",
        "p",
        "--net",
        "--ipc",
        "-s",
        "net.ipv4.ip_forward=1",
    ];
    for call in ["fsopen", "fsconfig", "fsmount"] {
        let before = t.snapshot(&WATCHED);
        let out = Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null"])
            .arg(format!("--inject={call}:error=ENOTRECOVERABLE"))
            .arg(BIN)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, call);
        assert!(stderr.contains("ENOTRECOVERABLE"), "{call}: {stderr}");
        assert_eq!(t.snapshot(&WATCHED), before, "{call} left something");
    }
}
