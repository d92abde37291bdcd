//! What pinns prints, against a hostile pod: a real pinned pod whose process
//! has escape sequences, a forged line and invalid UTF-8 in its arguments and
//! thread name, whose hostname and interface name carry the same, and a
//! leaked cgroup whose directory name does. Human output must show all of it
//! escaped (no raw control byte, no forged line); JSON must carry it exactly.
//! Every failure prints one line; on the journal it carries its priority.
//! Run as root.

use crate::common;

use common::{assert_one_line_error, os, path_str, pinns, run, OldCgroup, TestDir};
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// An argument that would retitle the terminal and forge a line of
/// `inspect`'s output.
const EVIL_ARG: &[u8] = b"arg\x1b]0;pwned\x07\nprocesses: none";
/// Not UTF-8.
const BAD_ARG: &[u8] = b"\xff\xfe";
/// A thread name (at most 15 bytes): clear screen, newline, invalid UTF-8.
const EVIL_COMM: &[u8] = b"c\x1b[2J\n\xffforged";
const EVIL_HOST: &[u8] = b"h\x1b[1m\nprocesses: none\xff";
const EVIL_IFACE: &[u8] = b"v\x1b[1m\xff";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Human output is safe: UTF-8, and no C0 control but newline, no DEL, no C1.
fn assert_printable(what: &str, out: &[u8]) {
    let text = std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for c in text.chars() {
        assert!(
            c == '\n' || !c.is_control(),
            "{what}: raw control {c:?} in {text:?}"
        );
    }
}

fn assert_no_line(what: &str, out: &[u8], forged: &str) {
    let text = String::from_utf8_lossy(out);
    assert!(
        !text.lines().any(|l| l.trim() == forged),
        "{what}: forged line {forged:?} printed: {text}"
    );
}

/// A pinned pod (net, ipc, uts) with a hostile process, hostname and
/// interface. The process group is killed on drop.
struct HostilePod {
    t: TestDir,
    sh: Child,
}

impl HostilePod {
    fn new() -> HostilePod {
        let t = TestDir::new();
        t.pin_pod("evil");
        let pin = |kind: &str| format!("--{kind}={}", t.pin_path(kind, "evil").display());
        let ok = |cmd: &mut Command| {
            let out = cmd.output().expect("run");
            assert!(out.status.success(), "{cmd:?}: {out:?}");
        };
        ok(Command::new("nsenter")
            .arg(pin("uts"))
            .args(["busybox", "hostname"])
            .arg(OsStr::from_bytes(EVIL_HOST)));
        ok(Command::new("nsenter")
            .arg(pin("net"))
            .args(["ip", "link", "add", "name"])
            .arg(OsStr::from_bytes(EVIL_IFACE))
            .args(["type", "veth", "peer", "name", "p0"]));
        // The shell names itself (exec would reset the name) and stays,
        // real-time, so that `inspect` shows its thread and `enter` finds
        // every CPU taken. It sleeps: a real-time sleeper costs nothing.
        let script = r#"printf 'c\033[2J\n\377forged' > /proc/$$/comm; sleep 600 & wait"#;
        let sh = Command::new("nsenter")
            .arg(pin("net"))
            .arg(pin("ipc"))
            .args(["chrt", "-f", "1", "sh", "-c", script, "sh"])
            .arg(OsStr::from_bytes(EVIL_ARG))
            .arg(OsStr::from_bytes(BAD_ARG))
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the hostile process");
        let pod = HostilePod { t, sh };
        pod.wait_for_comm();
        pod
    }

    fn pid(&self) -> i32 {
        self.sh.id() as i32
    }

    fn dir(&self) -> String {
        path_str(&self.t.pins()).to_string()
    }

    fn wait_for_comm(&self) {
        let path = format!("/proc/{}/comm", self.pid());
        common::wait_until("the hostile comm", 10, || {
            let comm = std::fs::read(&path).unwrap_or_default();
            comm.strip_suffix(b"\n") == Some(EVIL_COMM)
        });
    }
}

impl Drop for HostilePod {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.pid());
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.sh.wait();
        let _ = run(&["cleanup", "-d", &self.dir(), "-f", "evil"]);
    }
}

fn output(args: &[&str]) -> std::process::Output {
    pinns().args(args).output().expect("run pinns")
}

#[test]
#[serial_test::serial]
fn inspect_shows_hostile_text_escaped_and_json_exact() {
    let pod = HostilePod::new();
    let dir = pod.dir();

    let out = output(&["inspect", "-d", &dir, "evil"]);
    assert!(out.status.success(), "{out:?}");
    assert_printable("inspect", &out.stdout);
    assert_no_line("inspect", &out.stdout, "processes: none");
    let text = String::from_utf8_lossy(&out.stdout);
    for shown in [
        r"arg\x1b]0;pwned\x07\nprocesses: none \xff\xfe",
        r"c\x1b[2J\n\xffforged",
        r#"hostname "h\x1b[1m\nprocesses: none\xff""#,
        r"v\x1b[1m\xff",
    ] {
        assert!(text.contains(shown), "{shown:?} not in:\n{text}");
    }

    let out = output(&["inspect", "-d", &dir, "evil", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let p = common::entry(&doc, "processes", "pid", pod.pid());
    // UTF-8 arguments are exact strings; the hex list is exact for all.
    assert_eq!(p["argv"][4], std::str::from_utf8(EVIL_ARG).unwrap());
    assert_eq!(p["argv"][5], "\u{fffd}\u{fffd}");
    assert_eq!(p["argv_hex"][4], hex(EVIL_ARG));
    assert_eq!(p["argv_hex"][5], hex(BAD_ARG));
    assert_eq!(p["argv_hex"][0], hex(b"sh"));
    assert_eq!(p["comm_hex"], hex(EVIL_COMM));
    assert_eq!(p["realtime_threads"][0]["comm_hex"], hex(EVIL_COMM));
    assert_eq!(p["policy"], "SCHED_FIFO");
    assert_eq!(doc["uts"]["hostname_hex"], hex(EVIL_HOST));
    assert_eq!(doc["uts"]["domainname"], "(none)");
    assert!(doc["uts"].get("domainname_hex").is_none(), "{doc}");
    let iface = common::entry(&doc, "interfaces", "name_hex", hex(EVIL_IFACE));
    assert_eq!(iface["loopback"], false);
    let lo = common::entry(&doc, "interfaces", "name", "lo");
    assert!(lo.get("name_hex").is_none(), "{lo}");
}

#[test]
#[serial_test::serial]
fn enter_names_a_hostile_thread_escaped_in_one_line() {
    let pod = HostilePod::new();
    // The real-time shell may run on every CPU: no CPU is safe.
    let out = output(&["enter", "-d", &pod.dir(), "evil", "--", "true"]);
    assert_printable("enter", &out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(
        out.status.code().unwrap_or(-1),
        &stderr,
        r"(c\x1b[2J\n\xffforged)",
    );
}

#[test]
#[serial_test::serial]
fn list_and_cleanup_escape_names_from_the_directory() {
    let pod = HostilePod::new();
    let dir = pod.dir();
    // Not a pin name (a control character): reported, never used.
    let junk = pod
        .t
        .pins()
        .join("netns")
        .join(OsStr::from_bytes(b"x\x1b[2J\nevil  in-use  1  net:1\xff"));
    std::fs::write(&junk, "").unwrap();
    for args in [
        vec!["list", "-d", &dir, "--no-runtime"],
        vec![
            "cleanup",
            "-d",
            &dir,
            "--orphans",
            "--dry-run",
            "--no-runtime",
        ],
    ] {
        let out = output(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_printable(&format!("{args:?}"), &out.stdout);
        assert_no_line(&format!("{args:?}"), &out.stdout, "evil  in-use  1  net:1");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("warning: "), "{args:?}: {text}");
    }
    std::fs::remove_file(&junk).unwrap();
}

/// A leaked cgroup whose name would clear the screen and overwrite the line
/// (`\r`; the kernel refuses `\n` in cgroup names), below a test root.
fn hostile_cgroup() -> OldCgroup {
    let mut name = format!("pod{UUID}").into_bytes();
    name.extend_from_slice(b"\x1b[2J\rremoved pin x\xff");
    OldCgroup::new("output", &name)
}

const UUID: &str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

#[test]
#[serial_test::serial]
fn cleanup_shows_a_hostile_cgroup_name_escaped() {
    let cg = hostile_cgroup();
    let root = path_str(&cg.root).to_string();
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "cleanup",
            "--cgroups",
            &root,
            "--older-than",
            "1h",
            "--no-runtime",
        ];
        args.extend_from_slice(extra);
        output(&args)
    };

    let out = sweep(&["--dry-run", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let item = &doc["items"][0];
    assert_eq!(
        item["name_hex"],
        hex(cg.leaf.as_os_str().as_bytes()),
        "{doc}"
    );
    assert_eq!(item["outcome"], "would-remove");
    assert_eq!(item["state"], "orphan");
    assert!(item["age_seconds"].as_u64().unwrap() >= 7000, "{item}");

    let out = sweep(&[]);
    assert!(out.status.success(), "{out:?}");
    assert_printable("cleanup", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r"\x1b[2J\rremoved pin x\xff: empty, "),
        "{text}"
    );
    assert!(!cg.leaf.exists(), "not removed: {text}");
}

#[test]
#[serial_test::serial]
fn every_failure_is_one_printable_line() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    t.pin("ok", &["--net"]);
    let newline_dir = t.path().join("no\nwhere\x1b[2J");
    let not_cgroup = path_str(t.path());
    let cases: Vec<(Vec<&OsStr>, &str)> = vec![
        // clap in the pin form CRI-O runs (a subcommand's command-line
        // mistakes get clap's whole message: tests/it/cli.rs)
        (os(&["-d", d, "-f", "x", "--bogus"]), "--bogus"),
        (os(&["-d", d, "-f", "x", "--net", "--net"]), "--net"),
        (os(&["inspect", "-d", d, "no\x1b[2Jbody"]), "control"),
        // our own validation, quoting what it refuses
        (
            os(&["-d", d, "-f", "x", "--net", "-s", "kernel.hostname=a\nb"]),
            "sysctl",
        ),
        (os(&["-d", d, "-f", "x\x1b[2J", "--net"]), "control"),
        (os(&["-d", d, "-f", "ok", "--net"]), "ok"),
        // the system's answer, on a path with a newline
        (
            vec![
                OsStr::new("list"),
                OsStr::new("-d"),
                newline_dir.as_os_str(),
            ],
            r"no\nwhere\x1b[2J",
        ),
        (os(&["cleanup", "--cgroups", not_cgroup]), "cgroup"),
        (
            os(&["enter", "-d", d, "nobody", "-n", "--", "true"]),
            "nobody",
        ),
    ];
    for (args, needle) in cases {
        let out = pinns().args(&args).output().expect("run pinns");
        assert_printable(&format!("{args:?}"), &out.stderr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, needle);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
}

/// `JOURNAL_STREAM` as systemd sets it for a stream: `dev:inode` of `file`.
fn stream_id(file: &Path) -> String {
    let md = std::fs::metadata(file).unwrap();
    format!("{}:{}", md.dev(), md.ino())
}

#[test]
fn errors_carry_their_priority_only_on_the_journal() {
    let t = TestDir::new();
    let log = t.path().join("stderr");
    let missing = t.path().join("missing");
    let args = ["list", "-d", path_str(&missing)];
    // stderr is the file JOURNAL_STREAM names (what systemd does for a unit).
    let run_to_file = |journal: Option<String>| {
        let file = std::fs::File::create(&log).unwrap();
        let id = stream_id(&log);
        let mut cmd = Command::new(common::BIN);
        cmd.args(args).stderr(file).env_remove("JOURNAL_STREAM");
        if let Some(j) = journal {
            cmd.env("JOURNAL_STREAM", j.replace("SELF", &id));
        }
        let st = cmd.status().unwrap();
        assert!(!st.success());
        std::fs::read_to_string(&log).unwrap()
    };
    let line = run_to_file(Some("SELF".into()));
    assert!(line.starts_with("<3>[pinns:e] "), "{line:?}");
    assert_eq!(line.lines().count(), 1, "{line:?}");
    // A stream that is not stderr, garbage, or none: the plain line.
    let md = std::fs::metadata(t.path()).unwrap();
    for other in [
        Some(format!("{}:{}", md.dev(), md.ino())),
        Some("garbage".into()),
        None,
    ] {
        let line = run_to_file(other.clone());
        assert!(line.starts_with("[pinns:e] "), "{other:?}: {line:?}");
    }
    // A report on stdout, when stdout is the journal: a warning is `<4>`.
    let dir = t.pins();
    std::fs::create_dir_all(dir.join("netns")).unwrap();
    std::fs::write(dir.join("netns").join("bad\x07name"), "").unwrap();
    let report = t.path().join("stdout");
    let file = std::fs::File::create(&report).unwrap();
    let st = Command::new(common::BIN)
        .args(["list", "-d", path_str(&dir)])
        .stdout(file)
        .env("JOURNAL_STREAM", stream_id(&report))
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("<4>warning: ")),
        "{text:?}"
    );
    assert!(text.lines().any(|l| l.starts_with("NAME ")), "{text:?}");
    let out = pinns()
        .args(["list", "-d", path_str(&dir)])
        .output()
        .unwrap();
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(
        plain.lines().any(|l| l.starts_with("warning: ")),
        "{plain:?}"
    );

    // CRI-O, a unit on the journal, runs the pin form with stderr on a pipe
    // it reads, passing its own JOURNAL_STREAM on: the plain line.
    let out = pinns()
        .args(["-d", path_str(&dir), "-f", "x", "--net=guest"])
        .env("JOURNAL_STREAM", stream_id(&log))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap_or(-1), &stderr, "guest");
}
