//! The command line. Without a subcommand, pinns takes exactly the arguments
//! CRI-O passes to its pinns helper; the subcommands are our additions.

use clap::{Parser, Subcommand};
use std::ffi::OsString;

mod cleanup;
pub mod crio_form;
mod enter;
mod list;
mod ns_flags;
mod orphans;
mod pin;
mod values;

pub use cleanup::CleanupArgs;
pub use enter::EnterArgs;
pub use list::{InspectArgs, ListArgs};
pub use ns_flags::{EnterSelection, PinNamespaces};
pub use orphans::OrphanArgs;
pub use pin::PinArgs;

/// Where every subcommand looks for pins unless told: CRI-O's default
/// `namespaces_dir`.
pub const DEFAULT_DIR: &str = "/var/run";

#[derive(Debug, Parser)]
#[command(
    name = "pinns",
    version,
    about = "Pin a pod's namespaces so it needs no infra (pause) container",
    long_about = "Creates a pod's namespaces (or takes the caller's, with =host), applies the pod's \
sysctls inside them, and bind-mounts each onto DIR/<type>ns/NAME so that it outlives the process. \
A drop-in replacement for CRI-O's pinns helper: all or nothing, strict about sysctls and names.",
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub pin: PinArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pin namespaces (the same as giving the pin options without a subcommand)
    Pin(PinArgs),
    /// Run a command in a pod's namespaces, on CPUs its latency-sensitive tasks do not use
    ///
    /// Joins the namespaces of the target (a pin NAME, --pid PID or --pod ID;
    /// a user namespace before those it owns, the mount namespace last) and
    /// runs COMMAND there (default: $SHELL when it exists in the joined mount
    /// namespace, else /bin/sh), like `nsenter`, but on safe CPUs: the command's affinity is the
    /// caller's allowed CPUs minus isolated CPUs, nohz_full CPUs, --avoid-cpus,
    /// and every CPU that a task (thread) of the pod may run on when it is
    /// SCHED_FIFO/RR/DEADLINE or pinned (allowed on only some of the online
    /// CPUs). The pod's tasks are the processes in the target's net, ipc, uts,
    /// pid and mnt namespaces (those that are not the caller's own). If no CPU
    /// is left, it refuses and names each CPU and why.
    ///
    /// The command runs SCHED_OTHER (an inherited real-time policy is reset),
    /// stays in the caller's cgroup (joining a cgroup namespace changes only
    /// what it sees) and gets only file descriptors 0, 1 and 2. pinns
    /// becomes the command (it execs, as nsenter does), so its exit status,
    /// its signals and its terminal are its own. Where a PID namespace other
    /// than the caller's is joined, the command must be a child to land in
    /// it: pinns then waits for it and passes its exit status through
    /// (128+N if killed by signal N), forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT
    /// sent to pinns, and survives a Ctrl-C, which reaches the command
    /// directly.
    Enter(EnterArgs),
    Cleanup(CleanupArgs),
    List(ListArgs),
    Inspect(InspectArgs),
}

/// Whether `argv` (program name first) is the pin form CRI-O runs: options
/// only, no subcommand. Its errors are one line, as CRI-O logs them.
pub fn is_pin_form(argv: &[OsString]) -> bool {
    argv.get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|first| first.starts_with('-') && first != "-h" && first != "--help")
}

/// Adds what clap does not say: a word after `enter`'s target is taken for
/// an argument, while the command to run goes after `--`.
pub fn with_hints(mut err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let in_enter = err
        .get(ContextKind::Usage)
        .is_some_and(|u| u.to_string().contains("pinns enter"));
    let word = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(w)) => Some(w.clone()),
        _ => None,
    };
    if let (true, ErrorKind::UnknownArgument, Some(word)) = (in_enter, err.kind(), word) {
        if !word.starts_with('-') {
            err.insert(
                ContextKind::Suggested,
                ContextValue::StyledStrs(vec![format!(
                    "to run {word:?} in the pod, put it after `--`: pinns enter NAME -- {word} ..."
                )
                .into()]),
            );
        }
    }
    err
}

/// Turns a clap error into the one line we print after `[pinns:e]`.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "the following required arguments were not provided:" names them on
    // the next line; without it the message says nothing.
    match lines.next() {
        Some(detail) if first.ends_with(':') => format!("{first} {detail} (see pinns --help)"),
        _ => format!("{first} (see pinns --help)"),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::PathBuf;

    pub(super) fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pinns").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_become_one_line() {
        let err = parse(&["--bogus"]).unwrap_err();
        let line = one_line(&err);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
        let err = parse(&["-d", "/r", "-f", "x", "--net=guest"]).unwrap_err();
        let line = one_line(&err);
        assert!(!line.contains('\n') && line.contains("guest"), "{line}");
    }

    #[test]
    fn only_the_pin_form_gets_one_line_errors() {
        let argv = |args: &[&str]| -> Vec<OsString> {
            std::iter::once("pinns")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect()
        };
        assert!(is_pin_form(&argv(&["-d", "/r", "-f", "x", "--nett"])));
        assert!(is_pin_form(&argv(&["--dir=/r"])));
        for not_pin in [
            &["list", "--bogus"][..],
            &["lisst"],
            &["pin", "-d"],
            &["--help"],
            &[],
        ] {
            assert!(!is_pin_form(&argv(not_pin)), "{not_pin:?}");
        }
    }

    #[test]
    fn every_subcommand_defaults_to_crio_namespaces_dir() {
        let dir = PathBuf::from(DEFAULT_DIR);
        let Some(Command::List(list)) = parse(&["list"]).unwrap().command else {
            panic!("not list")
        };
        assert_eq!(list.dir, dir);
        let Some(Command::Inspect(inspect)) = parse(&["inspect", "pod"]).unwrap().command else {
            panic!("not inspect")
        };
        assert_eq!(inspect.dir, dir);
        let Some(Command::Cleanup(cleanup)) = parse(&["cleanup", "--orphans"]).unwrap().command
        else {
            panic!("not cleanup")
        };
        assert_eq!(cleanup.dir, dir);
        let Some(Command::Enter(enter)) = parse(&["enter", "pod"]).unwrap().command else {
            panic!("not enter")
        };
        assert_eq!(enter.dir, dir);
        assert!(
            parse(&["cleanup"]).is_err(),
            "cleanup needs something to remove"
        );
    }

    #[test]
    fn durations_take_operator_forms() {
        for (text, secs) in [
            ("10min", 600),
            ("1h30m", 5400),
            ("10m", 600),
            ("2d", 172_800),
        ] {
            let Some(Command::List(list)) = parse(&["list", "--older-than", text]).unwrap().command
            else {
                panic!("not list")
            };
            assert_eq!(list.orphan.older_than.as_secs(), secs, "{text}");
        }
        assert!(parse(&["list", "--older-than", "10"]).is_err());
        assert!(parse(&["cleanup", "--orphans", "--interval", "soon"]).is_err());
    }

    #[test]
    fn help_speaks_to_the_operator() {
        let mut cmd = Cli::command();
        cmd.build();
        let mut help = |name: &str| {
            let sub = cmd.find_subcommand_mut(name).expect("subcommand");
            sub.render_long_help().to_string()
        };
        let enter = help("enter");
        assert!(
            !enter.contains("PINNS_SYSFS_CPU_DIR") && !enter.contains("Test"),
            "{enter}"
        );
        let list = help("list");
        assert!(!list.to_lowercase().contains("cgroup"), "{list}");
    }
}
