//! The command line. Without a subcommand, pinns takes exactly the arguments
//! CRI-O passes to its pinns helper; the subcommands are our additions.

use crate::enter::{EnterRequest, Target};
use crate::error::{Error, Result};
use crate::ns::NsKind;
use crate::pin::{PinRequest, Propagation};
use clap::{ArgGroup, Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

pub mod crio_form;
mod ns_flags;
mod values;

pub use ns_flags::{EnterSelection, PinNamespaces};

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
    /// what it sees), gets only file descriptors 0, 1 and 2, and is a child of
    /// pinns, which passes its exit status through (128+N if killed by signal
    /// N). SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to pinns are forwarded to it;
    /// those from the terminal (Ctrl-C) reach it directly, as it is in the
    /// terminal's foreground process group with pinns.
    Enter(EnterArgs),
    Cleanup(CleanupArgs),
    List(ListArgs),
    Inspect(InspectArgs),
}

/// Which pins are orphans: shared by `cleanup` and `list`.
#[derive(Debug, Args, Default, Clone)]
pub struct OrphanArgs {
    /// Only pins at least this old are orphans (30s, 10m, 10min, 1h30m, 2d)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub older_than: std::time::Duration,

    /// Never treat this pin name, pod UID or container ID as an orphan (repeatable)
    #[arg(long = "keep", value_name = "NAME")]
    pub keep: Vec<String>,

    /// Keep every name in FILE (one per line; blank lines and # comments ignored)
    #[arg(long = "keep-file", value_name = "FILE")]
    pub keep_files: Vec<PathBuf>,

    /// The node runs no CRI runtime: sweep without asking one (otherwise the runtime is
    /// asked which sandboxes exist, and a sweep that cannot ask it removes nothing)
    #[arg(long, conflicts_with_all = ["runtime_endpoint", "keep_from_crictl"])]
    pub no_runtime: bool,

    /// CRI endpoint crictl asks [default: $CONTAINER_RUNTIME_ENDPOINT or crictl's config
    /// when set, else unix:///var/run/crio/crio.sock]
    #[arg(long, value_name = "URL")]
    pub runtime_endpoint: Option<String>,

    /// The crictl binary that asks the runtime
    #[arg(long, value_name = "PATH", default_value = "crictl")]
    pub crictl: PathBuf,

    /// Accepted for compatibility: asking the runtime is now the default
    #[arg(long, hide = true)]
    pub keep_from_crictl: bool,
}

impl OrphanArgs {
    pub fn runtime(&self) -> crate::keep::RuntimeSource {
        if self.no_runtime {
            return crate::keep::RuntimeSource::NoRuntime;
        }
        crate::keep::RuntimeSource::Ask(crate::crictl::Runtime::with_endpoint(
            self.crictl.clone(),
            self.runtime_endpoint.clone(),
        ))
    }
}

/// Remove a pod's pins, sweep orphaned pins and empty leaked cgroups.
///
/// `-f NAME` tears down one pod: every DIR/<type>ns/NAME that holds a namespace is unmounted
/// (MNT_DETACH) and its file removed; a second call finds nothing and succeeds.
///
/// `--orphans` removes the pins no pod uses: pins CRI-O made (a lowercase UUID name, only net,
/// ipc, uts and user pins, not in DIR/netns alone), at least --older-than old (the age of the
/// file under the mount, i.e. when it was pinned), with no task (thread) in any of the pod's
/// own namespaces, not in the keep set and not used by any sandbox the runtime knows. Empty
/// files left by a crashed pin count as orphans too. Anything else under DIR is `foreign`
/// (another tool's, e.g. `ip netns add` in /run/netns): reported, never removed.
///
/// The runtime is asked with `crictl pods`, `crictl inspectp` and `crictl ps` (--crictl,
/// --runtime-endpoint) after DIR is read and before anything is removed; if it cannot be
/// asked, the sweep fails and removes nothing, unless --no-runtime says the node runs none.
///
/// `--cgroups ROOT` removes empty cgroups below ROOT whose name carries a pod UID or a 64-hex
/// container ID neither kept nor known to the runtime: leaf first, only without processes or
/// children, at least --older-than old (directory mtime), never ROOT itself. ROOT is a cgroup
/// hierarchy (v1 or v2) or a directory holding them (/sys/fs/cgroup on v1 and hybrid nodes,
/// whose hierarchies are each swept); a hierarchy that cannot be read fails alone.
///
/// Only nsfs mounts are unmounted and only empty plain files removed; a non-empty file, a
/// foreign mount, a symlink or a directory at a pin path is reported and left alone. Each pin
/// is re-checked and removed under the lock `pin` takes on DIR, so a pod pinned during a sweep
/// is never removed. Ends with a summary line; exits 1 if any item failed.
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["filename", "orphans", "cgroups"])))]
pub struct CleanupArgs {
    /// Directory the pins are under (DIR/<type>ns/NAME; CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Remove every pin of this name, whether or not processes still use it
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "NAME",
        conflicts_with = "interval"
    )]
    pub filename: Option<String>,

    /// Remove orphaned pins under DIR
    #[arg(long)]
    pub orphans: bool,

    /// Remove empty leaked pod/container cgroups below ROOT (repeatable)
    #[arg(long = "cgroups", value_name = "ROOT")]
    pub cgroups: Vec<PathBuf>,

    #[command(flatten)]
    pub orphan: OrphanArgs,

    /// Report what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the report as one JSON object per sweep
    #[arg(long)]
    pub json: bool,

    /// Sweep again every DURATION until SIGINT or SIGTERM (then exit 0 after the current sweep)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<std::time::Duration>,

    /// After each sweep, write its figures to PATH as a node_exporter textfile
    /// (replaced atomically; end the name in .prom)
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// List the pins under DIR: one row per pin name.
///
/// Columns: NAME, STATE (in use: a task of a process lives in one of the pod's own
/// namespaces; idle; orphan: what `cleanup --orphans` would remove with the same options;
/// broken: a pin path holds a non-empty file, a foreign mount, a symlink or a directory;
/// foreign: not a pin CRI-O made, never swept), AGE (since it was pinned), PROCS (processes
/// with a task in the pod's own namespaces; host namespaces pinned with =host are marked
/// "(host)" and not counted), NAMESPACES (type:inode). One scan of /proc serves every pin.
/// The runtime is asked as `cleanup` asks it; if it cannot be, a warning says so and no pin
/// is an orphan. No colour.
#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Directory the pins are under (CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    #[command(flatten)]
    pub orphan: OrphanArgs,

    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Also write the pins by state to PATH as a node_exporter textfile
    /// (replaced atomically; end the name in .prom)
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// Show everything about one pod's pins.
///
/// Per type: the namespace inode and the inode of the user namespace owning it; the uid/gid
/// maps of a pinned user namespace; the hostname and domainname of the UTS namespace; the
/// interfaces, addresses and byte counters of the network namespace; and every process living
/// in the pod's own namespaces with its command, allowed CPUs, scheduling policy and its
/// real-time threads. What only shows from inside a namespace is read by a short-lived child
/// that joins it; pinns itself joins nothing.
#[derive(Debug, Args, Clone)]
pub struct InspectArgs {
    /// Directory the pins are under (CRI-O's namespaces_dir)
    #[arg(short = 'd', long = "dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    pub dir: PathBuf,

    /// Pin name (the NAME of DIR/<type>ns/NAME)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

fn parse_caps(s: &str) -> Result<crate::caps::CapSet, String> {
    crate::caps::CapSet::parse(s).map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args, Default, Clone, PartialEq, Eq)]
pub struct PinArgs {
    /// Directory to pin under: each namespace goes to DIR/<type>ns/NAME
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Pin name, one path component (CRI-O passes the sandbox's UUID)
    #[arg(short = 'f', long = "filename", value_name = "NAME")]
    pub filename: Option<String>,

    /// Namespaced sysctl to set inside the new namespaces (repeatable)
    #[arg(short = 's', long = "sysctl", value_name = "KEY=VALUE")]
    pub sysctls: Vec<String>,

    #[command(flatten)]
    pub namespaces: PinNamespaces,

    /// With a new --mnt: propagation of its mounts. `unchanged` keeps the
    /// host's (as CRI-O's helper does); `slave` lets host mounts in but keeps
    /// the namespace's own mounts out of the host (kubens)
    #[arg(long = "mnt-propagation", value_name = "MODE", value_enum)]
    pub mnt_propagation: Option<Propagation>,

    /// uid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by '@'
    #[arg(long = "uid-mapping", value_name = "MAPPING")]
    pub uid_mapping: Option<String>,

    /// gid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by '@'
    #[arg(long = "gid-mapping", value_name = "MAPPING")]
    pub gid_mapping: Option<String>,
}

impl PinArgs {
    pub fn request(&self) -> PinRequest<'_> {
        PinRequest {
            dir: self.dir.as_deref(),
            name: self.filename.as_deref(),
            namespaces: self.namespaces.0.iter().map(|(k, s)| (*k, *s)).collect(),
            sysctls: &self.sysctls,
            uid_mapping: self.uid_mapping.as_deref(),
            gid_mapping: self.gid_mapping.as_deref(),
            mnt_propagation: self.mnt_propagation,
        }
    }
}

/// Arguments of `pinns enter` (the help text is on [`Command::Enter`]).
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
mod tests {
    use super::*;
    use crate::pin::Source;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pinns").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn accepts_every_crio_form() {
        let cli = parse(&[
            "-d",
            "/run",
            "-f",
            "x",
            "-s",
            "net.ipv4.ip_forward=1",
            "--ipc",
            "--uts",
            "--net",
        ])
        .unwrap();
        let req = cli.pin.request();
        assert_eq!(req.namespaces.len(), 3);
        assert!(req.namespaces.iter().all(|(_, s)| *s == Source::New));

        let cli = parse(&[
            "--dir=/run",
            "--filename=x",
            "--sysctl=a.b=c",
            "-i",
            "-u",
            "-n",
            "-U",
            "-c",
            "-m",
        ])
        .unwrap();
        assert_eq!(cli.pin.request().namespaces.len(), 6);

        let cli = parse(&["-d", "/run", "-f", "x", "--net=host", "--ipc", "--uts=host"]).unwrap();
        let req = cli.pin.request();
        assert!(req.namespaces.contains(&(NsKind::Net, Source::Host)));
        assert!(req.namespaces.contains(&(NsKind::Ipc, Source::New)));
        assert!(req.namespaces.contains(&(NsKind::Uts, Source::Host)));

        let cli = parse(&[
            "-d",
            "/r",
            "-f",
            "x",
            "--user",
            "--uid-mapping=0-1-2@",
            "--gid-mapping",
            "0-1-2@",
        ])
        .unwrap();
        assert_eq!(cli.pin.uid_mapping.as_deref(), Some("0-1-2@"));
        assert_eq!(cli.pin.gid_mapping.as_deref(), Some("0-1-2@"));

        let cli = parse(&["pin", "-d", "/r", "-f", "x", "-n"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Pin(_))));
    }

    #[test]
    fn refuses_bad_flag_values_and_repeats() {
        assert!(parse(&["-d", "/r", "-f", "x", "--net=guest"]).is_err());
        assert!(parse(&["-d", "/r", "-f", "x", "--net", "host"]).is_err());
        assert!(parse(&["-d", "/r", "-d", "/s", "-f", "x", "-n"]).is_err());
        assert!(parse(&["-d", "/r", "-f", "x", "--net", "--net=host"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }

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
