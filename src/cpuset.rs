//! CPU sets in the kernel's list format (`0-3,8,10-11`), as found in
//! `/sys/devices/system/cpu/isolated`, `Cpus_allowed_list` and cpuset files.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Highest CPU number we accept (the kernel's NR_CPUS limit is 8192).
pub const MAX_CPU: u32 = 8191;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    #[error("CPU list {list:?}: {item:?} is not a CPU number or range")]
    Item { list: String, item: String },
    #[error("CPU list {list:?}: range {item:?} runs backwards")]
    Backwards { list: String, item: String },
    #[error("CPU list {list:?}: CPU {cpu} is above the limit of {MAX_CPU}")]
    TooHigh { list: String, cpu: u32 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuSet(BTreeSet<u32>);

impl CpuSet {
    /// Parses the kernel list format; an empty (or all-blank) list is the empty set.
    pub fn parse(list: &str) -> Result<CpuSet, CpuListError> {
        let mut set = BTreeSet::new();
        let trimmed = list.trim();
        if trimmed.is_empty() {
            return Ok(CpuSet(set));
        }
        for item in trimmed.split(',') {
            let (lo, hi) = parse_item(list, item)?;
            set.extend(lo..=hi);
        }
        Ok(CpuSet(set))
    }

    pub fn from_cpus(cpus: impl IntoIterator<Item = u32>) -> CpuSet {
        CpuSet(cpus.into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, cpu: u32) -> bool {
        self.0.contains(&cpu)
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    pub fn union(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.union(&other.0).copied().collect())
    }

    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.intersection(&other.0).copied().collect())
    }

    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.difference(&other.0).copied().collect())
    }

    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

fn parse_item(list: &str, item: &str) -> Result<(u32, u32), CpuListError> {
    let bad = || CpuListError::Item {
        list: list.to_string(),
        item: item.to_string(),
    };
    let number = |s: &str| -> Result<u32, CpuListError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let cpu: u32 = s.parse().map_err(|_| CpuListError::TooHigh {
            list: list.to_string(),
            cpu: u32::MAX,
        })?;
        if cpu > MAX_CPU {
            return Err(CpuListError::TooHigh {
                list: list.to_string(),
                cpu,
            });
        }
        Ok(cpu)
    };
    let (lo, hi) = match item.trim().split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let cpu = number(item.trim())?;
            (cpu, cpu)
        }
    };
    if lo > hi {
        return Err(CpuListError::Backwards {
            list: list.to_string(),
            item: item.to_string(),
        });
    }
    Ok((lo, hi))
}

impl FromStr for CpuSet {
    type Err = CpuListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CpuSet::parse(s)
    }
}

/// Prints the shortest kernel list form: `0-3,8,10-11`; the empty set prints
/// as an empty string, as the kernel does.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut iter = self.0.iter().copied().peekable();
        while let Some(lo) = iter.next() {
            let mut hi = lo;
            while iter.peek() == Some(&(hi + 1)) {
                hi = iter.next().unwrap_or(hi);
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_kernel_forms() {
        assert_eq!(
            CpuSet::parse("0-3,8,10-11").unwrap(),
            CpuSet::from_cpus([0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(CpuSet::parse("\n").unwrap(), CpuSet::default());
        assert_eq!(CpuSet::parse("").unwrap(), CpuSet::default());
        assert_eq!(CpuSet::parse("5\n").unwrap(), CpuSet::from_cpus([5]));
        assert_eq!(CpuSet::parse("1-1").unwrap(), CpuSet::from_cpus([1]));
    }

    #[test]
    fn refuses_malformed_lists() {
        for bad in [
            "a",
            "1-",
            "-1",
            "1,,2",
            "3-1",
            "1 2",
            "+1",
            "8192",
            "99999999999",
            "0-",
        ] {
            assert!(CpuSet::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            CpuSet::parse("3-1"),
            Err(CpuListError::Backwards { .. })
        ));
        assert!(matches!(
            CpuSet::parse("9000"),
            Err(CpuListError::TooHigh { cpu: 9000, .. })
        ));
    }

    #[test]
    fn prints_shortest_form() {
        assert_eq!(
            CpuSet::from_cpus([0, 1, 2, 3, 8, 10, 11]).to_string(),
            "0-3,8,10-11"
        );
        assert_eq!(CpuSet::from_cpus([1]).to_string(), "1");
        assert_eq!(CpuSet::default().to_string(), "");
    }

    #[test]
    fn set_operations() {
        let a = CpuSet::parse("0-3").unwrap();
        let b = CpuSet::parse("2-5").unwrap();
        assert_eq!(a.difference(&b).to_string(), "0-1");
        assert_eq!(a.intersection(&b).to_string(), "2-3");
        assert_eq!(a.union(&b).to_string(), "0-5");
        assert!(CpuSet::parse("1-2").unwrap().is_subset(&a));
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = CpuSet::parse(&s);
        }

        #[test]
        fn display_round_trips(cpus in proptest::collection::btree_set(0u32..=MAX_CPU, 0..64)) {
            let set = CpuSet(cpus);
            prop_assert_eq!(CpuSet::parse(&set.to_string()).unwrap(), set);
        }

        #[test]
        fn accepted_lists_round_trip(s in "[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?){0,5}") {
            if let Ok(set) = CpuSet::parse(&s) {
                prop_assert_eq!(CpuSet::parse(&set.to_string()).unwrap(), set);
            }
        }
    }
}
