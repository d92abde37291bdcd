//! The command as a process: only fds 0-2, its exit status passed through,
//! SIGINT and a terminal's Ctrl-C reaching it. Without another PID
//! namespace pinns becomes the command (an exec in place); with one, the
//! command is pinns' child, which pinns waits for.

use super::{enter, field};
use crate::common;
use common::{assert_one_line_error, path_str, run, TestDir, BIN};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
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
    // pinns became the command: its caller sees the command's own death.
    let out = Command::new(BIN)
        .args(["enter", "-d", path_str(&t.pins()), "status", "--"])
        .args(["sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
    let (code, _, err) = enter(&t, &["status", "--", "/no/such/command"]);
    assert_eq!(code, 127);
    assert_one_line_error(code, &err, "cannot execute \"/no/such/command\"");
}

/// No second process where none is needed: the command runs as pinns
/// itself, the caller's child, as under nsenter.
#[test]
fn without_another_pid_namespace_pinns_becomes_the_command() {
    let t = TestDir::new();
    t.pin("inplace", &["-n", "-u"]);
    let mut child = Command::new(BIN)
        .args(["enter", "-d", path_str(&t.pins()), "inplace", "--"])
        .args(["sh", "-c", "echo pid=$$; echo ppid=$PPID"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(field(&out, "pid="), child.id().to_string(), "{out}");
    assert_eq!(
        field(&out, "ppid="),
        std::process::id().to_string(),
        "{out}"
    );
}

/// `sleep` as PID 1 of a new PID namespace (`unshare --pid --fork`), and its
/// PID as ours numbers it; the unshare process is killed with the guard.
struct OtherPidNs {
    unshare: std::process::Child,
    pid: i32,
}

impl OtherPidNs {
    fn start() -> OtherPidNs {
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "sleep", "30"])
            .spawn()
            .expect("run unshare");
        // Made first, so that a panic below still kills and reaps unshare.
        let mut target = OtherPidNs { unshare, pid: 0 };
        let children = format!("/proc/{0}/task/{0}/children", target.unshare.id());
        for _ in 0..200 {
            let text = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
                target.pid = pid;
                return target;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("unshare --pid --fork started no child");
    }
}

impl Drop for OtherPidNs {
    fn drop(&mut self) {
        // Never kill(0): that is our own process group.
        if self.pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// In another PID namespace the command is pinns' child, the first process
/// of it pinns made, and pinns passes its status on: 128+N for signal N.
#[test]
fn in_another_pid_namespace_the_command_is_a_child_that_pinns_waits_for() {
    let target = OtherPidNs::start();
    let pid = target.pid.to_string();
    let args = ["enter", "--pid", &pid, "--pidns", "--"];
    let (code, out, err) = run(&[&args[..], &["sh", "-c", "echo me=$$; exit 7"]].concat());
    assert_eq!(code, 7, "{err}");
    // sleep is 1 there; the command a later number of that namespace.
    let me: i32 = field(&out, "me=").parse().unwrap();
    assert!(
        me > 1 && me < 100,
        "pid {me} is not one of the new namespace"
    );
    let (code, _, err) = run(&[&args[..], &["sh", "-c", "kill -TERM $$"]].concat());
    assert_eq!(code, 128 + 15, "{err}");
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
        "the signal must reach the command and its status come back"
    );
}

#[test]
fn ctrl_c_on_a_terminal_reaches_the_command_and_its_status_is_passed_on() {
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
    // 42 is the command's status: the ^C reached the command, once.
    assert_eq!(script.wait().unwrap().code(), Some(42), "{rest:?}");
}

/// The parent PID field of `/proc/PID/stat` (after the command name,
/// which may hold spaces and parentheses).
fn ppid_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// In another PID namespace the command is pinns' child, and it dies when
/// pinns is killed (`PR_SET_PDEATHSIG`) rather than run on unwatched.
#[test]
fn the_command_dies_with_pinns_killed_in_another_pid_namespace() {
    let target = OtherPidNs::start();
    let mut child = Command::new(BIN)
        .args(["enter", "--pid", &target.pid.to_string(), "--pidns", "--"])
        // `exec`: the command itself is what must die.
        .args(["sh", "-c", "echo ready; exec sleep 30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let pid: i32 = std::fs::read_to_string(&children)
        .unwrap()
        .split_whitespace()
        .next()
        .expect("pinns has a child")
        .parse()
        .unwrap();
    assert_eq!(ppid_of(pid), Some(child.id()));
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
