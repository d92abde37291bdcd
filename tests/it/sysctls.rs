//! Sysctls and id maps against the real kernel: where the writes land (the
//! host's /proc/sys on a sparse node, a private procfs instance on a dense
//! one unless the mount API is unavailable or denied), what a user namespace
//! changes, the largest id map the kernel takes, and every argv real CRI-O
//! 1.26 and 1.36 passed. Runs as root.

use crate::common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const WATCHED: [&str; 3] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
];

/// Live pins from which pinns writes through a private procfs instance
/// (`DENSE_PODS` in src/sysctl_write.rs).
const DENSE: usize = 128;

/// Pins `live` pods (net+ipc, no sysctls) into `d`: a node that dense.
fn live_pods(d: &str, live: usize) {
    for i in 0..live {
        pin_ok(&["-d", d, "-f", &format!("live{i}"), "--net", "--ipc"]);
    }
}

/// Pins net+ipc with two sysctls, beside `live` live pods, from inside
/// throwaway net and ipc namespaces (so a write that went to the caller's
/// namespaces would change only those), and checks each value is in the
/// pod and not in the caller. Returns the strace of the pin.
fn writes_land_in_the_pod(inject: Option<&str>, user: bool, live: usize) -> String {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    live_pods(&d, live);
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
        "strace -f -qq -o {trace} -e trace=fsopen,fsconfig,fsmount,move_mount,mount,openat {inject} {bin} {args} && \
         cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
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

#[test]
fn on_a_sparse_node_proc_sys_is_used() {
    for (user, live) in [(false, 0), (true, 0), (false, DENSE - 1)] {
        let trace = writes_land_in_the_pod(None, user, live);
        assert!(!trace.contains("fsopen("), "{live} live pods: {trace}");
        used_host_proc_sys(&trace);
    }
}

#[test]
fn private_procfs_writes_resolve_in_the_new_namespaces() {
    used_private_procfs(&writes_land_in_the_pod(None, false, DENSE));
}

#[test]
fn private_procfs_serves_the_user_namespace_helper() {
    used_private_procfs(&writes_land_in_the_pod(None, true, DENSE));
}

#[test]
fn without_the_mount_api_proc_sys_is_used() {
    fell_back(
        &writes_land_in_the_pod(Some("fsopen:error=ENOSYS"), false, DENSE),
        "ENOSYS",
    );
    fell_back(
        &writes_land_in_the_pod(Some("fsopen:error=ENOSYS"), true, DENSE),
        "ENOSYS",
    );
}

#[test]
fn when_the_mount_api_is_denied_proc_sys_is_used() {
    fell_back(
        &writes_land_in_the_pod(Some("fsopen:error=EPERM"), false, DENSE),
        "EPERM",
    );
}

/// An unknown key is found when written, inside the new namespaces (where
/// the lookup resolves), before any directory or mount is made: the
/// namespaces die with the process, so nothing is left behind.
#[test]
fn unknown_key_is_refused_before_any_change_on_every_path() {
    let paths = [
        (0, None),
        (DENSE, None),
        (DENSE, Some("fsopen:error=ENOSYS")),
    ];
    for (live, inject) in paths {
        let t = TestDir::new();
        let d = path_str(&t.pins()).to_string();
        live_pods(&d, live);
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

#[test]
fn the_largest_id_map_is_taken_by_the_kernel() {
    let t = TestDir::new();
    let map = page_sized_map(0);
    t.pin(
        "big",
        &[
            "--user",
            &format!("--uid-mapping={map}"),
            &format!("--gid-mapping={map}"),
            "--net",
        ],
    );
    for file in ["uid_map", "gid_map"] {
        let text = in_pins(&t, "big", &["user"], &format!("cat /proc/self/{file}"));
        assert_eq!(text.lines().count(), 340, "{file}: {text}");
    }
}

#[test]
fn an_oversized_id_map_creates_nothing() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let map = page_sized_map(1);
    let uid = format!("--uid-mapping={map}");
    let log = tempfile::NamedTempFile::new().unwrap();
    let before = t.snapshot(&WATCHED);
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(log.path())
        .args(["-e", "trace=unshare,clone,clone3,fork,vfork,mkdir,openat"])
        .arg(BIN)
        .args([
            "-d",
            &d,
            "-f",
            "p",
            "--user",
            &uid,
            "--gid-mapping=0-1-1",
            "--net",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "at most 4095");
    let trace = std::fs::read_to_string(log.path()).unwrap();
    for call in ["unshare(", "clone(", "clone3(", "fork(", "mkdir("] {
        assert!(!trace.contains(call), "{call} before refusing: {trace}");
    }
    assert!(!trace.contains("uid_map"), "{trace}");
    assert_eq!(t.snapshot(&WATCHED), before);
    assert!(!t.pins().exists());
}

/// `shared/fixtures` beside the repository (as CI lays it out), or where
/// PINNS_SHARED_DIR says.
fn fixtures_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("PINNS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("fixtures");
    dir.is_dir().then_some(dir)
}

/// Every pinns argv captured from real CRI-O 1.26.4 and 1.36.3 pins (with
/// `-d` moved to a temp dir) and tears down as CRI-O does.
#[test]
fn every_captured_crio_argv_pins_and_tears_down() {
    let Some(fixtures) = fixtures_dir() else {
        println!("skipped: no shared/fixtures beside the repository (set PINNS_SHARED_DIR)");
        return;
    };
    let mut calls = 0;
    for version in ["crio-1.26", "crio-1.36"] {
        let path = fixtures.join(version).join("pinns-argv.jsonl");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let argv: Vec<String> = record["argv"]
                .as_array()
                .expect("argv array")
                .iter()
                .map(|a| a.as_str().expect("string").to_string())
                .collect();
            pin_and_tear_down(version, &argv[1..]);
            calls += 1;
        }
    }
    assert!(calls >= 10, "only {calls} captured calls");
}

fn pin_and_tear_down(version: &str, args: &[String]) {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let mut args: Vec<String> = args.to_vec();
    let at = args.iter().position(|a| a == "-d").expect("-d") + 1;
    args[at] = d;
    let name = args[args.iter().position(|a| a == "-f").expect("-f") + 1].clone();
    let before = t.snapshot(&WATCHED);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, _, stderr) = run(&refs);
    assert_eq!(status, 0, "{version} argv {args:?}: {stderr}");
    let pins = t.nsfs_mounts();
    let kinds = args
        .iter()
        .filter(|a| a.starts_with("--") && !a.contains("mapping"))
        .count();
    assert_eq!(pins.len(), kinds, "{version} argv {args:?}: pins {pins:?}");
    for pin in &pins {
        assert!(pin.ends_with(&name), "{pin:?}");
        // CRI-O's teardown: lazy unmount, then remove the file.
        nix::mount::umount2(pin, nix::mount::MntFlags::MNT_DETACH).expect("unmount pin");
        std::fs::remove_file(pin).expect("remove pin");
    }
    assert!(t.mounts().is_empty(), "{:?}", t.mounts());
    assert_eq!(t.snapshot(&WATCHED).sysctls, before.sysctls);
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

/// On a dense node the private procfs instance is made before any change:
/// a failure of any of its calls (other than the fallback errnos) is one
/// line naming the call, and leaves the node as it was.
#[test]
fn a_failing_private_procfs_changes_nothing() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    live_pods(&d, DENSE);
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
