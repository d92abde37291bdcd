//! How values read and print on the command line: the pin layer's plain
//! enums (they live with the plan, `pin`, which knows nothing of clap; their
//! spellings and help lines are the command line's business, so they are
//! given here), and the parsers of capability lists and durations.

use crate::pin::{Propagation, Source};
use clap::builder::PossibleValue;
use clap::ValueEnum;

/// `--net` (new) or `--net=host`.
impl ValueEnum for Source {
    fn value_variants<'a>() -> &'a [Self] {
        &[Source::Host, Source::New]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Source::Host => {
                PossibleValue::new("host").help("Pin the caller's own namespace of this type")
            }
            Source::New => PossibleValue::new("new")
                .help("Create a new namespace (the same as giving the flag without a value)"),
        })
    }
}

/// `--mnt-propagation MODE`.
impl ValueEnum for Propagation {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Propagation::Unchanged,
            Propagation::Slave,
            Propagation::Private,
            Propagation::Shared,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Propagation::Unchanged => PossibleValue::new("unchanged")
                .help("Keep the propagation copied from the caller's mounts"),
            Propagation::Slave => {
                PossibleValue::new("slave").help("Receive the host's mounts, send none back")
            }
            Propagation::Private => {
                PossibleValue::new("private").help("Neither receive nor send mounts")
            }
            Propagation::Shared => PossibleValue::new("shared").help("Receive and send mounts"),
        })
    }
}

/// `--caps LIST`.
pub(super) fn parse_caps(s: &str) -> Result<crate::caps::CapSet, String> {
    crate::caps::CapSet::parse(s).map_err(|e| e.to_string())
}

/// `--older-than` and `--interval`: 30s, 10m, 1h30m, 2d.
pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_as_itself() {
        for source in Source::value_variants() {
            let name = source.to_possible_value().unwrap();
            assert_eq!(Source::from_str(name.get_name(), false), Ok(*source));
        }
        for p in Propagation::value_variants() {
            let name = p.to_possible_value().unwrap();
            assert_eq!(Propagation::from_str(name.get_name(), false), Ok(*p));
        }
        assert!(Source::from_str("guest", false).is_err());
    }
}
