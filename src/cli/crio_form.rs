//! The pin command line exactly as CRI-O writes it, recognised without clap.
//!
//! Every pod creation runs `pinns -d DIR -f NAME -s KEY=VALUE... --ipc --net
//! --uts`, and building clap's command and parsing with it was about half of
//! a pin's instructions and most of the code it touched. This recognises
//! only the plain forms: each argument a whole option (`--dir DIR`,
//! `--dir=DIR`, `-d DIR`, `-d=DIR`, `--net`, `--net=host`, `-n=new`), no
//! short clusters, no option given twice but `--sysctl`, no empty value and
//! no value starting with `-`. Anything else, from `--help` to a mistake, is
//! not recognised and goes to clap ([`super::Cli`]), which has the final word
//! and the error messages. A property test holds the two to the same result.
//! A `-s` value is taken as it comes, in either path: CRI-O 1.20-1.23's
//! one-argument list (`'k1=v1'+'k2=v2'`) is split by `sysctl::parse_all`,
//! so both read it alike.

use super::ns_flags::pin_kind_of;
use super::PinArgs;
use crate::pin::{Propagation, Source};
use clap::ValueEnum;
use std::ffi::OsString;

/// The pin arguments, if `argv` (program name first) is in the plain CRI-O
/// form; `None` means "ask clap".
pub fn recognise(argv: &[OsString]) -> Option<PinArgs> {
    let mut args = PinArgs::default();
    let mut rest = argv.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        let (flag, attached) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (arg, None),
        };
        match flag {
            "-d" | "--dir" => set_once(&mut args.dir, value(attached, &mut rest)?.into())?,
            "-f" | "--filename" => {
                set_once(&mut args.filename, value(attached, &mut rest)?.into())?
            }
            "-s" | "--sysctl" => args.sysctls.push(value(attached, &mut rest)?.into()),
            "--uid-mapping" => set_once(&mut args.uid_mapping, value(attached, &mut rest)?.into())?,
            "--gid-mapping" => set_once(&mut args.gid_mapping, value(attached, &mut rest)?.into())?,
            "--mnt-propagation" => set_once(
                &mut args.mnt_propagation,
                Propagation::from_str(value(attached, &mut rest)?, false).ok()?,
            )?,
            // A namespace flag, each at most once.
            flag => {
                let kind = pin_kind_of(flag)?;
                let source = mode(attached)?;
                args.namespaces
                    .0
                    .insert(kind, source)
                    .is_none()
                    .then_some(())?;
            }
        }
    }
    Some(args)
}

/// An option's value: the part after `=`, or else the next argument.
fn value<'a>(
    attached: Option<&'a str>,
    rest: &mut impl Iterator<Item = &'a OsString>,
) -> Option<&'a str> {
    let value = match attached {
        Some(value) => value,
        None => rest.next()?.to_str()?,
    };
    // clap reads `-d -f` as two options, and refuses empty paths.
    (!value.is_empty() && !value.starts_with('-')).then_some(value)
}

/// A namespace flag: bare means a new namespace, `=host` the caller's.
fn mode(attached: Option<&str>) -> Option<Source> {
    match attached {
        None => Some(Source::New),
        Some(value) => Source::from_str(value, false).ok(),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}
