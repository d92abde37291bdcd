//! `pinns enter`: its arguments (the help text is on the subcommand) and
//! the plain request `enter` works from.

use super::values::parse_caps;
use super::{EnterSelection, DEFAULT_DIR};
use crate::enter::{EnterRequest, Target};
use crate::error::{Error, Result};
use crate::ns::NsKind;
use clap::{ArgGroup, Args};
use std::ffi::OsString;
use std::path::PathBuf;

/// Arguments of `pinns enter` (the help text is on [`super::Command::Enter`]).
#[derive(Debug, Args, Default, Clone)]
#[command(group(ArgGroup::new("target").required(true).args(["name", "pid", "pod"])))]
pub struct EnterArgs {
    /// Pin name: join every namespace pinned as DIR/<type>ns/NAME
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Directory the pins are under (CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Join the namespaces of a running process (by default: user if not
    /// ours, cgroup, ipc, uts, net, pid, mnt)
    #[arg(short = 't', long = "pid", value_name = "PID", value_parser = clap::value_parser!(i32).range(1..))]
    pub pid: Option<i32>,

    /// Join a CRI pod sandbox (ID or name), resolved with `crictl inspectp`
    #[arg(long = "pod", value_name = "ID|NAME")]
    pub pod: Option<String>,

    #[command(flatten)]
    pub selection: EnterSelection,

    /// Run on exactly these CPUs (kernel list format, e.g. 0-1,4); refused
    /// if one is isolated, nohz_full or used by a real-time task of the pod
    #[arg(long = "cpus", value_name = "LIST", conflicts_with = "avoid_cpus")]
    pub cpus: Option<String>,

    /// Never run on these CPUs (e.g. the pods' exclusive CPUs)
    #[arg(long = "avoid-cpus", value_name = "LIST")]
    pub avoid_cpus: Option<String>,

    /// Accept isolated, nohz_full and real-time-occupied CPUs in --cpus
    #[arg(long = "allow-isolated", requires = "cpus")]
    pub allow_isolated: bool,

    /// Nice value of the command (-20 to 19)
    #[arg(long = "nice", value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-20..=19))]
    pub nice: Option<i32>,

    /// Run the command with only these capabilities (e.g. cap_net_raw,cap_sys_ptrace, or
    /// none): the others leave its bounding, effective, permitted, inheritable and ambient
    /// sets, and no_new_privs is set, so it can look at a production pod without the power to
    /// change it. Default: pinns' own capabilities, as nsenter gives
    #[arg(long = "caps", value_name = "LIST", value_parser = parse_caps)]
    pub caps: Option<crate::caps::CapSet>,

    /// Print the namespaces joined, the chosen CPUs and why others were excluded
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// The command and its arguments, after `--`
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

impl EnterArgs {
    /// The plain request `enter` works from. clap has made sure there is
    /// exactly one target.
    pub fn into_request(self) -> Result<EnterRequest> {
        let selected = self.selected();
        let target = match (self.name, self.pid, self.pod) {
            (Some(name), _, _) => Target::Pin {
                dir: self.dir,
                name,
            },
            (_, Some(pid), _) => Target::Process(pid),
            (_, _, Some(pod)) => Target::Pod(pod),
            _ => {
                return Err(Error::Usage(
                    "give a pin NAME, --pid PID or --pod ID".into(),
                ))
            }
        };
        Ok(EnterRequest {
            target,
            selected,
            cpus: self.cpus,
            avoid_cpus: self.avoid_cpus,
            allow_isolated: self.allow_isolated,
            nice: self.nice,
            caps: self.caps,
            verbose: self.verbose,
            command: self.command,
        })
    }

    /// The namespace kinds the selection flags name; empty when none was given.
    fn selected(&self) -> Vec<NsKind> {
        self.selection.0.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::parse;
    use crate::cli::Command;

    #[test]
    fn enter_takes_one_target_and_a_command() {
        let cli = parse(&["enter", "pod-a", "--net", "-u", "--", "ip", "-br", "a"]).unwrap();
        let Some(Command::Enter(args)) = cli.command else {
            panic!("not enter")
        };
        assert_eq!(args.name.as_deref(), Some("pod-a"));
        assert_eq!(args.dir, PathBuf::from("/var/run"));
        assert_eq!(args.selected(), vec![NsKind::Uts, NsKind::Net]);
        assert_eq!(args.command, ["ip", "-br", "a"].map(OsString::from));
        let req = args.into_request().unwrap();
        let pin = Target::Pin {
            dir: "/var/run".into(),
            name: "pod-a".into(),
        };
        assert_eq!(
            (req.target, req.selected),
            (pin, vec![NsKind::Uts, NsKind::Net])
        );

        let cli = parse(&["enter", "--pid", "42", "-p", "--nice", "-5"]).unwrap();
        let Some(Command::Enter(args)) = cli.command else {
            panic!("not enter")
        };
        assert_eq!((args.pid, args.nice), (Some(42), Some(-5)));
        assert_eq!(args.selected(), vec![NsKind::Pid]);
        assert!(args.command.is_empty());
        let req = args.into_request().unwrap();
        assert_eq!((req.target, req.nice), (Target::Process(42), Some(-5)));
        let Some(Command::Enter(args)) = parse(&["enter", "--pod", "web"]).unwrap().command else {
            panic!("not enter")
        };
        assert_eq!(
            args.into_request().unwrap().target,
            Target::Pod("web".into())
        );

        assert!(parse(&["enter"]).is_err());
        assert!(parse(&["enter", "a", "--pid", "1"]).is_err());
        assert!(parse(&["enter", "--pod", "x", "--pid", "1"]).is_err());
        assert!(parse(&["enter", "--pid", "0"]).is_err());
        assert!(parse(&["enter", "a", "--nice", "20"]).is_err());
        assert!(parse(&["enter", "a", "--cpus", "0", "--avoid-cpus", "1"]).is_err());
        assert!(parse(&["enter", "a", "--allow-isolated"]).is_err());
        assert!(parse(&["enter", "a", "sh"]).is_err(), "command needs --");
    }
}
