//! The command line. Without a subcommand, pinns takes exactly the arguments
//! CRI-O passes to its pinns helper; the subcommands are our additions.

use crate::ns::NsKind;
use crate::pin::{PinRequest, Propagation, Source};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
}

/// How a namespace flag was given: `--net` (new) or `--net=host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NsMode {
    /// Pin the caller's own namespace of this type
    Host,
    /// Create a new namespace (the same as giving the flag without a value)
    New,
}

impl From<NsMode> for Source {
    fn from(mode: NsMode) -> Source {
        match mode {
            NsMode::Host => Source::Host,
            NsMode::New => Source::New,
        }
    }
}

#[derive(Debug, Args, Default, Clone)]
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

    /// Pin a UTS namespace (new, or the caller's with =host)
    #[arg(short = 'u', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub uts: Option<NsMode>,

    /// Pin an IPC namespace (new, or the caller's with =host)
    #[arg(short = 'i', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub ipc: Option<NsMode>,

    /// Pin a network namespace (new, or the caller's with =host)
    #[arg(short = 'n', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub net: Option<NsMode>,

    /// Pin a user namespace; a new one needs --uid-mapping and --gid-mapping
    #[arg(short = 'U', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub user: Option<NsMode>,

    /// Pin a cgroup namespace (new, or the caller's with =host)
    #[arg(short = 'c', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub cgroup: Option<NsMode>,

    /// Pin a mount namespace; DIR/mntns is made an unbindable mount first
    #[arg(short = 'm', long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "new", value_enum)]
    pub mnt: Option<NsMode>,

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
        let flags = [
            (NsKind::User, self.user),
            (NsKind::Cgroup, self.cgroup),
            (NsKind::Ipc, self.ipc),
            (NsKind::Uts, self.uts),
            (NsKind::Net, self.net),
            (NsKind::Mnt, self.mnt),
        ];
        PinRequest {
            dir: self.dir.as_deref(),
            name: self.filename.as_deref(),
            namespaces: flags
                .into_iter()
                .filter_map(|(kind, mode)| Some((kind, mode?.into())))
                .collect(),
            sysctls: &self.sysctls,
            uid_mapping: self.uid_mapping.as_deref(),
            gid_mapping: self.gid_mapping.as_deref(),
            mnt_propagation: self.mnt_propagation,
        }
    }
}

/// Turns a clap error into the one line we print after `[pinns:e]`.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see pinns --help)")
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn errors_become_one_line() {
        let err = parse(&["--bogus"]).unwrap_err();
        let line = one_line(&err);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
    }
}
