//! The per-namespace options of `pin` and `enter`, made from the `NsKind`
//! table: each kind's option is `-<short>`/`--<proc name>`. What is this
//! command line's own stays here: which kinds each command offers, in the
//! order `--help` has always listed them, and each option's help line.

use crate::ns::NsKind;
use crate::pin::Source;
use clap::builder::EnumValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use std::collections::{BTreeMap, BTreeSet};

/// `pin`'s namespace options, in help order.
const PIN: [(NsKind, &str); 6] = [
    (
        NsKind::Uts,
        "Pin a UTS namespace (new, or the caller's with =host)",
    ),
    (
        NsKind::Ipc,
        "Pin an IPC namespace (new, or the caller's with =host)",
    ),
    (
        NsKind::Net,
        "Pin a network namespace (new, or the caller's with =host)",
    ),
    (
        NsKind::User,
        "Pin a user namespace; a new one needs --uid-mapping and --gid-mapping",
    ),
    (
        NsKind::Cgroup,
        "Pin a cgroup namespace (new, or the caller's with =host)",
    ),
    (
        NsKind::Mnt,
        "Pin a mount namespace; DIR/mntns is made an unbindable mount first",
    ),
];

/// `enter`'s selection options, in help order.
const ENTER: [(NsKind, &str); 7] = [
    (
        NsKind::Net,
        "Join only the network namespace (selection flags combine)",
    ),
    (
        NsKind::Ipc,
        "Join only the IPC namespace (selection flags combine)",
    ),
    (
        NsKind::Uts,
        "Join only the UTS namespace (selection flags combine)",
    ),
    (
        NsKind::User,
        "Join only the user namespace (selection flags combine)",
    ),
    (
        NsKind::Mnt,
        "Join only the mount namespace (selection flags combine)",
    ),
    (
        NsKind::Cgroup,
        "Join only the cgroup namespace (selection flags combine)",
    ),
    (
        NsKind::Pid,
        "Join only the PID namespace (selection flags combine; `--pid` names the target process)",
    ),
];

/// The long option (and clap id) of a pin flag.
pub fn pin_long(kind: NsKind) -> &'static str {
    kind.proc_name()
}

/// The long option (and clap id) of an enter selection flag: `--pid`
/// already names the target process, so the PID namespace is `--pidns`.
fn enter_long(kind: NsKind) -> &'static str {
    match kind {
        NsKind::Pid => "pidns",
        kind => kind.proc_name(),
    }
}

/// The pin kind whose option `flag` is (`-n` or `--net`).
pub fn pin_kind_of(flag: &str) -> Option<NsKind> {
    PIN.iter().map(|(kind, _)| *kind).find(|kind| {
        flag.strip_prefix("--") == Some(pin_long(*kind))
            || flag.strip_prefix('-').and_then(one_char) == Some(kind.short_flag())
    })
}

fn one_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// The namespaces `pin` is asked for: `--net` (new) or `--net=host`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PinNamespaces(pub BTreeMap<NsKind, Source>);

impl clap::Args for PinNamespaces {
    fn augment_args(cmd: Command) -> Command {
        PIN.iter().fold(cmd, |cmd, (kind, help)| {
            cmd.arg(
                Arg::new(pin_long(*kind))
                    .short(kind.short_flag())
                    .long(pin_long(*kind))
                    .value_name("MODE")
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("new")
                    .value_parser(EnumValueParser::<Source>::new())
                    .action(ArgAction::Set)
                    .help(*help),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for PinNamespaces {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut namespaces = Self::default();
        namespaces.update_from_arg_matches(matches)?;
        Ok(namespaces)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (kind, _) in PIN {
            if let Some(source) = matches.get_one::<Source>(pin_long(kind)) {
                self.0.insert(kind, *source);
            }
        }
        Ok(())
    }
}

/// The namespaces `enter` is told to join only; empty when none was named.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EnterSelection(pub BTreeSet<NsKind>);

impl clap::Args for EnterSelection {
    fn augment_args(cmd: Command) -> Command {
        ENTER.iter().fold(cmd, |cmd, (kind, help)| {
            cmd.arg(
                Arg::new(enter_long(*kind))
                    .short(kind.short_flag())
                    .long(enter_long(*kind))
                    .action(ArgAction::SetTrue)
                    .help(*help),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for EnterSelection {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut selection = Self::default();
        selection.update_from_arg_matches(matches)?;
        Ok(selection)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (kind, _) in ENTER {
            if matches.get_flag(enter_long(kind)) {
                self.0.insert(kind);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_offers_every_pinnable_kind_and_enter_every_kind() {
        let pin: BTreeSet<NsKind> = PIN.iter().map(|(k, _)| *k).collect();
        assert_eq!(pin, NsKind::pinnable().collect());
        let enter: BTreeSet<NsKind> = ENTER.iter().map(|(k, _)| *k).collect();
        assert_eq!(enter, NsKind::ALL.into_iter().collect());
    }

    #[test]
    fn pin_flags_are_found_by_either_name() {
        assert_eq!(pin_kind_of("-n"), Some(NsKind::Net));
        assert_eq!(pin_kind_of("--net"), Some(NsKind::Net));
        assert_eq!(pin_kind_of("-U"), Some(NsKind::User));
        assert_eq!(pin_kind_of("-u"), Some(NsKind::Uts));
        for not_pin in ["-p", "--pid", "--nett", "-nu", "net", "--n", "-"] {
            assert_eq!(pin_kind_of(not_pin), None, "{not_pin}");
        }
    }
}
