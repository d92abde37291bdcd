//! A table of bad invocations: each gets one `[pinns:e]` line and a non-zero
//! exit, and changes nothing (files, mounts, host sysctls).

use crate::common;

use common::*;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

const WATCHED: [&str; 4] = [
    "vm.swappiness",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
    "kernel.pid_max",
];

/// (what, argv after the binary name, words the error must contain).
type Case = (&'static str, Vec<OsString>, &'static str);

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn cases(t: &TestDir) -> Vec<Case> {
    let d = path_str(&t.pins()).to_string();
    let file_dir = path_str(&t.path().join("a-file")).to_string();
    let with = |extra: &[&str]| {
        let mut v = vec!["-d", d.as_str(), "-f", "pod"];
        v.extend_from_slice(extra);
        os(&v)
    };
    let named = |name: &str| os(&["-d", &d, "-f", name, "--net"]);
    let long = "x".repeat(100_000);
    let user = |uid: &str, gid: &str| {
        os(&[
            "-d",
            &d,
            "-f",
            "pod",
            "--user",
            &format!("--uid-mapping={uid}"),
            &format!("--gid-mapping={gid}"),
            "--net",
        ])
    };
    let mut non_utf8_name = os(&["-d", &d, "-f"]);
    non_utf8_name.push(OsString::from_vec(vec![b'p', 0xff, 0xfe]));
    non_utf8_name.push("--net".into());
    let mut non_utf8_sysctl = with(&["--net", "-s"]);
    non_utf8_sysctl.push(OsString::from_vec(b"net.ipv4.ip_forward=\xff".to_vec()));

    vec![
        // Names
        ("empty name", named(""), "empty"),
        ("dot", named("."), "not allowed"),
        ("dot dot", named(".."), "not allowed"),
        ("traversal", named("../../etc/x"), "single path component"),
        (
            "absolute name",
            named("/etc/passwd"),
            "single path component",
        ),
        ("trailing slash", named("pod/"), "single path component"),
        ("newline in name", named("po\nd"), "control character"),
        ("name too long", named(&"n".repeat(256)), "255"),
        ("non-UTF-8 name", non_utf8_name, "UTF-8"),
        // Sysctls
        (
            "host-wide sysctl",
            with(&["--net", "-s", "vm.swappiness=33"]),
            "not namespaced",
        ),
        (
            "host-wide kernel sysctl",
            with(&["--ipc", "-s", "kernel.pid_max=4096"]),
            "not namespaced",
        ),
        (
            "net sysctl on host net",
            with(&["--net=host", "--ipc", "-s", "net.ipv4.ip_forward=1"]),
            "does not create",
        ),
        (
            "ipc sysctl on host ipc",
            with(&["--net", "--ipc=host", "-s", "kernel.shm_rmid_forced=1"]),
            "does not create",
        ),
        (
            "uts sysctl without uts",
            with(&["--net", "-s", "kernel.hostname=x"]),
            "does not create",
        ),
        (
            "mqueue sysctl without ipc",
            with(&["--net", "-s", "fs.mqueue.msg_max=20"]),
            "does not create",
        ),
        (
            "sysctl without =",
            with(&["--net", "-s", "net.ipv4.ip_forward"]),
            "KEY=VALUE",
        ),
        (
            "sysctl empty key",
            with(&["--net", "-s", "=1"]),
            "empty key",
        ),
        (
            "sysctl empty value",
            with(&["--net", "-s", "net.ipv4.ip_forward="]),
            "empty value",
        ),
        (
            "sysctl traversal",
            with(&["--net", "-s", "net/../../kernel/pid_max=1"]),
            "malformed",
        ),
        (
            "sysctl empty component",
            with(&["--net", "-s", "net..ipv4=1"]),
            "malformed",
        ),
        (
            "unknown sysctl",
            with(&["--net", "-s", "net.ipv4.not_a_key=1"]),
            "does not exist",
        ),
        (
            "conflicting sysctl",
            with(&[
                "--net",
                "-s",
                "net.ipv4.ip_forward=1",
                "-s",
                "net.ipv4.ip_forward=0",
            ]),
            "twice",
        ),
        (
            "hostname too long",
            with(&[
                "--uts",
                "-s",
                &format!("kernel.hostname={}", "h".repeat(65)),
            ]),
            "limit",
        ),
        (
            "sysctl value with newline",
            with(&["--net", "-s", "net.ipv4.ip_forward=1\n0"]),
            "newline",
        ),
        (
            "sysctl value with an escape",
            with(&["--net", "-s", "net.ipv4.tcp_congestion_control=\x1b[2J"]),
            "control character",
        ),
        (
            "sysctl value longer than a page",
            with(&[
                "--net",
                "-s",
                &format!("net.ipv4.tcp_congestion_control={}", "c".repeat(4096)),
            ]),
            "limit is 4095",
        ),
        (
            "global switch visible in every netns",
            with(&["--net", "-s", "net.netfilter.nf_hooks_lwtunnel=1"]),
            "is not namespaced: setting it would change the host",
        ),
        (
            "net.core key of the initial netns only",
            with(&["--net", "-s", "net.core.rmem_max=1000000"]),
            "is not namespaced",
        ),
        (
            "host-wide neighbour table",
            with(&["--net", "-s", "net.ipv4.neigh.default.gc_thresh3=4096"]),
            "is not namespaced",
        ),
        (
            "interface a new netns lacks",
            with(&["--net", "-s", "net.ipv4.conf.eth0.forwarding=1"]),
            "interface \"eth0\"",
        ),
        (
            "read-only sysctl",
            with(&[
                "--net",
                "-s",
                "net.ipv4.tcp_available_congestion_control=reno",
            ]),
            "read-only",
        ),
        (
            "loose quoted sysctl list",
            with(&[
                "--net",
                "-s",
                "'net.ipv4.ip_forward=1' + 'net.ipv4.tcp_syncookies=1'",
            ]),
            "'KEY=VALUE'+'KEY=VALUE'",
        ),
        ("non-UTF-8 sysctl", non_utf8_sysctl, "UTF-8"),
        // Id maps
        (
            "user without maps",
            with(&["--user", "--net"]),
            "needs both",
        ),
        (
            "user with uid map only",
            with(&["--user", "--uid-mapping=0-1-1", "--net"]),
            "needs both",
        ),
        (
            "maps without user",
            with(&["--uid-mapping=0-1-1", "--gid-mapping=0-1-1", "--net"]),
            "without --user",
        ),
        (
            "maps with host user",
            with(&["--user=host", "--uid-mapping=0-1-1", "--gid-mapping=0-1-1"]),
            "without --user",
        ),
        ("empty map", user("", "0-1-1"), "empty"),
        (
            "map of two fields",
            user("0-100000", "0-1-1"),
            "CONTAINER-HOST-SIZE",
        ),
        ("map with letters", user("0-x-1", "0-1-1"), "number"),
        ("map zero size", user("0-100000-0", "0-1-1"), "at least 1"),
        (
            "map overflowing u32",
            user("0-4294967295-1", "0-1-1"),
            "number",
        ),
        (
            "map range past max id",
            user("4294967000-0-1000", "0-1-1"),
            "past the largest",
        ),
        (
            "overlapping map",
            user("0-100000-100@50-300000-10", "0-1-1"),
            "overlap",
        ),
        (
            "overlapping host ids",
            user("0-100000-100@200-100050-10", "0-1-1"),
            "overlap",
        ),
        (
            "map longer than the kernel's one-page write",
            user(&page_sized_map(1), "0-1-1"),
            "at most 4095",
        ),
        (
            "map of 341 ranges",
            user(
                &(0..341)
                    .map(|i| format!("{i}-{}-1@", 1000 + i))
                    .collect::<String>(),
                "0-1-1",
            ),
            "at most 340",
        ),
        (
            "ping range the gid map cannot express",
            {
                let mut v = user("0-100000-65536", "0-100000-65536");
                v.extend(os(&["-s", "net.ipv4.ping_group_range=0 70000"]));
                v
            },
            "ping_group_range=\"0 70000\"",
        ),
        (
            "sysctl hidden in a userns-owned netns",
            {
                let mut v = user("0-100000-65536", "0-100000-65536");
                v.extend(os(&["-s", "net.ipv6.route.gc_thresh=1024"]));
                v
            },
            "owned by a new user namespace",
        ),
        (
            "map with empty range",
            user("0-1-1@@", "0-1-1"),
            "CONTAINER-HOST-SIZE",
        ),
        // Command line
        ("no namespace", with(&[]), "no namespace"),
        ("no dir", os(&["-f", "pod", "--net"]), "--dir"),
        (
            "empty dir",
            os(&["-d", "", "-f", "pod", "--net"]),
            "value is required",
        ),
        ("no name", os(&["-d", &d, "--net"]), "--filename"),
        (
            "dir is a file",
            os(&["-d", &file_dir, "-f", "pod", "--net"]),
            "not a directory",
        ),
        ("unknown flag", with(&["--net", "--pid"]), "--pid"),
        ("unknown short flag", with(&["--net", "-z"]), "-z"),
        ("bad namespace mode", with(&["--net=guest"]), "guest"),
        ("mode as separate word", with(&["--net", "host"]), "host"),
        (
            "repeated dir",
            os(&["-d", &d, "-d", "/tmp/other", "-f", "pod", "--net"]),
            "multiple times",
        ),
        (
            "repeated name",
            with(&["-f", "other", "--net"]),
            "multiple times",
        ),
        (
            "net new and host",
            with(&["--net", "--net=host"]),
            "multiple times",
        ),
        ("empty sysctl", with(&["--net", "-s", ""]), "KEY=VALUE"),
        ("very long name", named(&long), "255"),
        (
            "very long sysctl",
            with(&["--net", "-s", &format!("net.ipv4.{long}=1")]),
            "does not exist",
        ),
        // (A mistyped subcommand gets clap's whole message: tests/it/cli.rs.)
        (
            "stray word after the pin options",
            os(&["-d", &d, "-f", "pod", "--net", "frobnicate"]),
            "frobnicate",
        ),
        (
            "propagation without --mnt",
            with(&["--net", "--mnt-propagation=slave"]),
            "add --mnt",
        ),
        (
            "propagation with host mnt",
            with(&["--mnt=host", "--mnt-propagation=slave"]),
            "add --mnt",
        ),
        (
            "unknown propagation",
            with(&["--mnt", "--mnt-propagation=rslave"]),
            "rslave",
        ),
    ]
}

#[test]
fn every_bad_invocation_is_refused_cleanly() {
    let t = TestDir::new();
    std::fs::write(t.path().join("a-file"), "").unwrap();
    let cases = cases(&t);
    assert!(cases.len() >= 40);
    for (what, args, needle) in &cases {
        let before = t.snapshot(&WATCHED);
        let out = pinns().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(!out.status.success(), "{what}: accepted");
        assert!(
            lines.len() == 1 && lines[0].starts_with("[pinns:e] "),
            "{what}: not one [pinns:e] line: {stderr:?}"
        );
        assert!(
            lines[0].to_lowercase().contains(&needle.to_lowercase()),
            "{what}: {:?} does not mention {needle:?}",
            lines[0]
        );
        assert_eq!(t.snapshot(&WATCHED), before, "{what}: changed something");
    }
    readme_count("bad-inputs", cases.len());
}
