//! The command as a process: only fds 0-2, its exit status passed through,
//! SIGINT and a terminal's Ctrl-C reaching it.

use super::{enter, field};
use crate::common;
use common::{assert_one_line_error, path_str, TestDir, BIN};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_command_gets_only_fds_0_1_2_even_when_pinns_inherits_more() {
    let t = TestDir::new();
    t.pin("fds", &["-n"]);
    let pins = t.pins();
    // bash gives pinns an fd 7 without close-on-exec; it must not pass on.
    let stdout = common::stdout_ok(
        Command::new("bash")
            .args([
                "-c",
                "exec 7</dev/null; echo outer=$(ls /proc/$$/fd | tr '\\n' ' '); exec \"$@\"",
                "bash",
            ])
            // ls (a child, so not counting its own directory fd) lists the shell's
            // fds; `; true` keeps sh from exec'ing ls in its place.
            .args([
                BIN,
                "enter",
                "-d",
                path_str(&pins),
                "fds",
                "--",
                "sh",
                "-c",
                "echo inner; ls /proc/$$/fd; true",
            ])
            .stdin(Stdio::null()),
    );
    assert!(
        field(&stdout, "outer=").split(' ').any(|fd| fd == "7"),
        "{stdout}"
    );
    let inner: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "inner")
        .skip(1)
        .collect();
    assert_eq!(inner, ["0", "1", "2"], "{stdout}");
}

#[test]
fn the_exit_status_is_passed_through() {
    let t = TestDir::new();
    t.pin("status", &["-u"]);
    let (code, _, err) = enter(&t, &["status", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code, 7, "{err}");
    let (code, _, _) = enter(&t, &["status", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(code, 128 + 15);
    let (code, _, err) = enter(&t, &["status", "--", "/no/such/command"]);
    assert_eq!(code, 127);
    assert_one_line_error(code, &err, "cannot execute \"/no/such/command\"");
}

#[test]
fn sigint_to_pinns_reaches_the_command() {
    let t = TestDir::new();
    t.pin("sig", &["-u"]);
    let pins = t.pins();
    let mut child = Command::new(BIN)
        .args(["enter", "-d", path_str(&pins), "sig", "--", "sh", "-c"])
        // Bounded: if the signal never arrives, the test fails after ~10 s
        // instead of hanging.
        .arg("trap 'echo got-INT; exit 42' INT; echo ready; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo no-signal")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-INT");
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(42),
        "pinns must outlive the signal and pass the status on"
    );
}

#[test]
fn ctrl_c_on_a_terminal_reaches_the_command_and_pinns_survives_it() {
    let t = TestDir::new();
    t.pin("tty", &["-u"]);
    let pins = t.pins();
    // script(1) runs pinns on a new pseudo-terminal; the ^C byte written to
    // it makes the terminal driver send SIGINT to the foreground group.
    // script starts `$SHELL -c`; `exec` makes pinns replace that shell, which
    // would otherwise share the group and die of the ^C itself (dash does,
    // bash execs a lone command anyway), whatever SHELL the caller has.
    let inner = format!(
        "exec {BIN} enter -d {} tty -- sh -c 'trap \"echo got-INT; exit 42\" INT; echo ready; \
         i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo no-signal'",
        path_str(&pins)
    );
    let mut script = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    let mut stdin = script.stdin.take().unwrap();
    let mut lines = BufReader::new(script.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first.trim(), "ready");
    std::io::Write::write_all(&mut stdin, b"\x03").unwrap();
    let rest: Vec<String> = lines.map_while(|l| l.ok()).collect();
    assert!(rest.iter().any(|l| l.contains("got-INT")), "{rest:?}");
    // 42 is the command's status: pinns outlived the ^C and passed it on.
    assert_eq!(script.wait().unwrap().code(), Some(42), "{rest:?}");
}

#[test]
fn the_command_dies_with_pinns_killed_and_starts_in_the_joined_namespaces() {
    let t = TestDir::new();
    t.pin("death", &["-u"]);
    let pins = t.pins();
    let mut child = Command::new(BIN)
        .args(["enter", "-d", path_str(&pins), "death", "--", "sh", "-c"])
        // `exec`: the command itself (this pid) is what must die.
        .arg("echo pid=$$; echo uts=$(readlink /proc/self/ns/uts); exec sleep 30")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let pid: i32 = field(&lines.next().unwrap().unwrap(), "pid=")
        .parse()
        .unwrap();
    let uts = lines.next().unwrap().unwrap();
    let pinned = std::fs::metadata(pins.join("utsns/death")).unwrap();
    let want = format!("uts=uts:[{}]", std::os::unix::fs::MetadataExt::ino(&pinned));
    assert_eq!(uts, want);
    // The command is a child of pinns, not of this test.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ppid, child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    // Gone or a zombie waiting for its new parent, within ~5 s.
    let dead = (0..100).any(|_| {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        if matches!(state, Err(_) | Ok(true)) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        false
    });
    if !dead {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(dead, "the command {pid} outlived pinns killed by SIGKILL");
}
