//! The command line as people and CRI-O meet it: usage without arguments,
//! clap's whole message (with its hints) for the subcommands, one line for
//! the pin form CRI-O runs, and a periodic sweep that sleeps in the kernel.

use crate::common;

use common::{assert_one_line_error, assert_usage_error, path_str, run, TestDir, BIN};
use std::process::{Command, Stdio};

#[test]
fn no_arguments_show_the_usage() {
    let (code, out, err) = run(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("Usage: pinns [OPTIONS]"), "{err}");
    assert!(err.contains("enter") && err.contains("cleanup"), "{err}");
    assert!(!err.contains("missing --dir"), "{err}");
}

#[test]
fn subcommand_mistakes_keep_clap_hints() {
    let (code, _, err) = run(&["lisst"]);
    assert_usage_error(code, &err, "a similar subcommand exists: 'list'");
    let (code, _, err) = run(&["cleanup", "--orphan"]);
    assert_usage_error(code, &err, "similar argument exists: '--orphans'");
    let (code, _, err) = run(&["enter", "pod", "--cpu", "1"]);
    assert_usage_error(code, &err, "--cpus");
    let (code, _, err) = run(&["enter", "pod", "ip", "addr"]);
    assert_usage_error(code, &err, "put it after `--`: pinns enter NAME -- ip");
}

#[test]
fn the_crio_pin_form_keeps_one_line_errors() {
    let t = TestDir::new();
    let before = t.snapshot(&[]);
    let (code, _, err) = run(&["-d", path_str(&t.pins()), "-f", "pod", "--nett"]);
    assert_one_line_error(code, &err, "--nett");
    assert_eq!(code, 2);
    assert_eq!(t.snapshot(&[]), before);
}

/// `--interval` waits for the next sweep in one sigtimedwait, not in a
/// polling loop, and SIGTERM ends it after the sweep with status 0.
#[test]
fn interval_sleeps_in_the_kernel_until_a_signal() {
    let t = TestDir::new();
    std::fs::create_dir_all(t.pins()).unwrap();
    let trace = t.path().join("trace");
    let child = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=rt_sigtimedwait,nanosleep,clock_nanosleep",
            "-o",
        ])
        .arg(&trace)
        .arg(BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&t.pins()),
            "--orphans",
            "--no-runtime",
            "--interval",
            "1h",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run strace pinns");
    // Wait until it sleeps: its first sweep's summary, then the wait call.
    common::wait_for_call(&trace, "rt_sigtimedwait(");
    // A second of sleeping would have been ten wake-ups of a 10 Hz poll.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let pinns_pid = pinns_pid_under(child.id());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pinns_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pinns did not exit 0 on SIGTERM");
    let calls = std::fs::read_to_string(&trace).unwrap();
    let waits = calls.matches("rt_sigtimedwait(").count();
    let sleeps = calls.matches("nanosleep(").count();
    assert_eq!((waits, sleeps), (1, 0), "{calls}");
    assert!(calls.contains("SIGTERM"), "{calls}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("cleanup:")
            .count(),
        1
    );
}

/// The pid of the traced pinns: strace's only child.
fn pinns_pid_under(strace: u32) -> i32 {
    let children = std::fs::read_to_string(format!("/proc/{strace}/task/{strace}/children"))
        .expect("read strace's children");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("strace has a child")
}
