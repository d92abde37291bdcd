//! Stricter than the C helper: each refusal is one `[pinns:e]` line, a
//! non-zero exit, and leaves files, mounts and host sysctls exactly as found.

mod common;

use common::*;

const WATCHED: [&str; 3] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
];

/// Runs a call that must be refused and checks nothing changed.
fn refused(t: &TestDir, args: &[&str], needle: &str) {
    let before = t.snapshot(&WATCHED);
    let (status, _, stderr) = run(args);
    assert_one_line_error(status, &stderr, needle);
    assert_eq!(
        t.snapshot(&WATCHED),
        before,
        "pinns {args:?} changed something"
    );
}

fn flipped(key: &str) -> String {
    if host_sysctl(key) == "1" {
        "0".into()
    } else {
        "1".into()
    }
}

#[test]
fn host_wide_sysctl_is_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let swappiness = format!(
        "vm.swappiness={}",
        if host_sysctl("vm.swappiness") == "33" {
            34
        } else {
            33
        }
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "-s", &swappiness, "--net"],
        "not namespaced",
    );
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "-s",
            "kernel.pid_max=4096",
            "--net",
            "--ipc",
        ],
        "not namespaced",
    );
}

#[test]
fn sysctl_aimed_at_a_host_namespace_is_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let fwd = format!("net.ipv4.ip_forward={}", flipped("net.ipv4.ip_forward"));
    refused(
        &t,
        &["-d", &d, "-f", "p", "-s", &fwd, "--net=host", "--ipc"],
        "does not create",
    );
    let rmid = format!(
        "kernel.shm_rmid_forced={}",
        flipped("kernel.shm_rmid_forced")
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "-s", &rmid, "--net", "--ipc=host"],
        "does not create",
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "-s", "kernel.hostname=x", "--net"],
        "does not create",
    );
}

#[test]
fn names_that_escape_dir_are_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    refused(
        &t,
        &["-d", &d, "-f", "../../x", "--net"],
        "single path component",
    );
    refused(&t, &["-d", &d, "-f", "..", "--net"], "not allowed");
    refused(&t, &["-d", &d, "-f", ".", "--net"], "not allowed");
    refused(&t, &["-d", &d, "-f", "", "--net"], "empty");
    refused(&t, &["-d", &d, "-f", &"n".repeat(256), "--net"], "255");
    refused(&t, &["-d", &d, "-f", "a\tb", "--net"], "control character");
}

#[test]
fn a_second_pin_of_the_same_name_is_refused_not_stacked() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let (status, _, stderr) = run(&["-d", &d, "-f", "twice", "--net", "--ipc"]);
    assert_eq!(status, 0, "{stderr}");
    let first = ns_inode(t.pin_path("net", "twice"));
    refused(&t, &["-d", &d, "-f", "twice", "--net"], "already pinned");
    // Even when another requested type is new, nothing is added.
    refused(
        &t,
        &["-d", &d, "-f", "twice", "--uts", "--ipc"],
        "already pinned",
    );
    assert_eq!(ns_inode(t.pin_path("net", "twice")), first);
    assert_eq!(t.nsfs_mounts().len(), 2);
}

#[test]
fn occupied_targets_are_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let netns = t.pins().join("netns");
    std::fs::create_dir_all(&netns).unwrap();
    std::fs::write(netns.join("full"), "data").unwrap();
    refused(&t, &["-d", &d, "-f", "full", "--net"], "not empty");
    std::fs::create_dir(netns.join("adir")).unwrap();
    refused(&t, &["-d", &d, "-f", "adir", "--net"], "not a regular file");
    std::os::unix::fs::symlink("/etc/hostname", netns.join("link")).unwrap();
    refused(&t, &["-d", &d, "-f", "link", "--net"], "not a regular file");
}

#[test]
fn symlinked_type_dir_and_file_dir_are_refused() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(t.pins()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.pins().join("netns")).unwrap();
    refused(&t, &["-d", &d, "-f", "p", "--net"], "not a directory");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    let file = t.path().join("afile");
    std::fs::write(&file, "").unwrap();
    refused(
        &t,
        &["-d", path_str(&file), "-f", "p", "--net"],
        "not a directory",
    );
}

#[test]
fn id_mapping_rules() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    let m = "--uid-mapping=0-100000-65536@";
    let g = "--gid-mapping=0-100000-65536@";
    refused(&t, &["-d", &d, "-f", "p", "--user", "--net"], "needs both");
    refused(
        &t,
        &["-d", &d, "-f", "p", "--user", m, "--net"],
        "needs both",
    );
    refused(&t, &["-d", &d, "-f", "p", m, g, "--net"], "without --user");
    refused(
        &t,
        &["-d", &d, "-f", "p", "--user=host", m, g],
        "without --user",
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "--user", "--uid-mapping=0-1-0", g],
        "size",
    );
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--user",
            "--uid-mapping=0-1-10@5-100-10",
            g,
        ],
        "overlap",
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "--user", "--uid-mapping=x", g],
        "CONTAINER-HOST-SIZE",
    );
}

#[test]
fn command_line_mistakes() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    refused(&t, &["-d", &d, "-f", "p"], "no namespace");
    refused(&t, &["-f", "p", "--net"], "--dir");
    refused(&t, &["-d", &d, "--net"], "--filename");
    refused(&t, &["-d", &d, "-f", "p", "--net=guest"], "guest");
    refused(&t, &["-d", &d, "-f", "p", "--bogus"], "--bogus");
    refused(
        &t,
        &["-d", &d, "-f", "p", "-f", "q", "--net"],
        "multiple times",
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "--net", "-s", "net.ipv4.ip_forward"],
        "KEY=VALUE",
    );
    refused(
        &t,
        &["-d", &d, "-f", "p", "--net", "-s", "net.ipv4.no_such_key=1"],
        "does not exist",
    );
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--net",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "net.ipv4.ip_forward=0",
        ],
        "twice",
    );
}

#[test]
fn kernel_rejection_after_unshare_rolls_everything_back() {
    let t = TestDir::new();
    let d = path_str(&t.pins()).to_string();
    // Valid syntax, refused by the kernel at write time: after the
    // directories were made and the namespaces created.
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--net",
            "--ipc",
            "-s",
            "kernel.shm_rmid_forced=1",
            "-s",
            "net.ipv4.ip_forward=banana",
        ],
        "write sysctl",
    );
    assert!(
        !t.pins().exists(),
        "the directory this call created was left behind"
    );
    // The same in the helper process that creates a user namespace.
    refused(
        &t,
        &[
            "-d",
            &d,
            "-f",
            "p",
            "--user",
            "--uid-mapping=0-100000-65536",
            "--gid-mapping=0-100000-65536",
            "--net",
            "-s",
            "net.ipv4.ip_forward=banana",
        ],
        "write sysctl",
    );
    assert!(!t.pins().exists());
}

#[test]
fn setuid_invocation_is_refused() {
    let t = TestDir::new();
    let exe = t.path().join("pinns-setuid");
    std::fs::copy(BIN, &exe).unwrap();
    std::os::unix::fs::chown(&exe, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(
        t.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let d = path_str(&t.pins()).to_string();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["-d", &d, "-f", "p", "--net"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("nosuid") || out.status.code() == Some(127) {
        panic!("cannot exercise setuid here: {stderr}");
    }
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "setuid");
    assert!(!t.pins().exists());
}
