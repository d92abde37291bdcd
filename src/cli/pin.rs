//! The pin form (CRI-O's arguments) and `pinns pin`: its arguments and the
//! plain request `pin` works from.

use super::PinNamespaces;
use crate::pin::{PinRequest, Propagation};
use clap::Args;
use std::path::PathBuf;

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

#[cfg(test)]
mod tests {
    use crate::cli::tests::parse;
    use crate::cli::Command;
    use crate::ns::NsKind;
    use crate::pin::Source;

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
}
