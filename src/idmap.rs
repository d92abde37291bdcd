//! User namespace id mappings as CRI-O passes them:
//! `CTR-HOST-SIZE` ranges joined by `@`, a trailing `@` allowed.

use std::fmt;
use std::str::FromStr;

/// The kernel accepts at most this many lines in a uid_map or gid_map
/// (`UID_GID_MAP_MAX_EXTENTS`, since Linux 4.15).
const MAX_RANGES: usize = 340;
/// `map_write` takes the whole map in one write of less than a page (and
/// refuses anything longer with EINVAL); 4 KiB is the smallest page.
const MAX_TEXT: usize = 4095;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdMapError {
    #[error("{which} mapping is empty")]
    Empty { which: &'static str },
    #[error("{which} mapping range {range:?} must be CONTAINER-HOST-SIZE")]
    Shape { which: &'static str, range: String },
    #[error("{which} mapping range {range:?}: {field} is not a number from 0 to 4294967294")]
    Number {
        which: &'static str,
        range: String,
        field: &'static str,
    },
    #[error("{which} mapping range {range:?}: size must be at least 1")]
    ZeroSize { which: &'static str, range: String },
    #[error("{which} mapping range {range:?} runs past the largest id")]
    Overflow { which: &'static str, range: String },
    #[error("{which} mapping ranges {a:?} and {b:?} overlap on the {side} side")]
    Overlap {
        which: &'static str,
        a: String,
        b: String,
        side: &'static str,
    },
    #[error("{which} mapping has {count} ranges; the kernel accepts at most 340")]
    TooMany { which: &'static str, count: usize },
    #[error("{which} mapping is {bytes} bytes as written to {which}_map; the kernel accepts at most 4095")]
    TooLong { which: &'static str, bytes: usize },
}

/// One line of a uid_map/gid_map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

impl IdRange {
    fn end(start: u32, size: u32) -> u64 {
        u64::from(start) + u64::from(size)
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.container, self.host, self.size)
    }
}

/// A validated mapping the kernel will accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap(Vec<IdRange>);

impl IdMap {
    /// Parses CRI-O's form; `which` is "uid" or "gid", for messages.
    pub fn parse(which: &'static str, s: &str) -> Result<IdMap, IdMapError> {
        let body = s.strip_suffix('@').unwrap_or(s);
        if body.is_empty() {
            return Err(IdMapError::Empty { which });
        }
        let ranges = body
            .split('@')
            .map(|r| parse_range(which, r))
            .collect::<Result<Vec<_>, _>>()?;
        if ranges.len() > MAX_RANGES {
            return Err(IdMapError::TooMany {
                which,
                count: ranges.len(),
            });
        }
        check_overlaps(which, &ranges)?;
        let map = IdMap(ranges);
        let bytes = map.to_proc_format().len();
        if bytes > MAX_TEXT {
            return Err(IdMapError::TooLong { which, bytes });
        }
        Ok(map)
    }

    pub fn ranges(&self) -> &[IdRange] {
        &self.0
    }

    /// The text written to `/proc/<pid>/uid_map`.
    pub fn to_proc_format(&self) -> String {
        self.0
            .iter()
            .map(|r| format!("{} {} {}\n", r.container, r.host, r.size))
            .collect()
    }

    /// Whether id 0 inside the namespace is mapped (so the helper can become it).
    pub fn maps_root(&self) -> bool {
        self.maps_container_id(0)
    }

    /// Whether `id` inside the namespace is mapped.
    pub fn maps_container_id(&self, id: u32) -> bool {
        self.0
            .iter()
            .any(|r| r.container <= id && u64::from(id) < IdRange::end(r.container, r.size))
    }

    /// The highest id inside the namespace that is mapped.
    pub fn highest_container_id(&self) -> u32 {
        let end = self.0.iter().map(|r| IdRange::end(r.container, r.size));
        // Every range has a size of at least 1 and ends below u32::MAX.
        end.max().map_or(0, |e| (e - 1) as u32)
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(IdRange::to_string).collect();
        f.write_str(&parts.join("@"))
    }
}

impl FromStr for IdMap {
    type Err = IdMapError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdMap::parse("id", s)
    }
}

fn parse_range(which: &'static str, range: &str) -> Result<IdRange, IdMapError> {
    let fields: Vec<&str> = range.split('-').collect();
    let [c, h, n] = fields.as_slice() else {
        return Err(IdMapError::Shape {
            which,
            range: range.to_string(),
        });
    };
    let number = |text: &str, field| {
        // Digits only: u32::from_str would also take a leading '+'.
        let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        match text.parse::<u32>() {
            Ok(v) if valid && v != u32::MAX => Ok(v),
            _ => Err(IdMapError::Number {
                which,
                range: range.to_string(),
                field,
            }),
        }
    };
    let r = IdRange {
        container: number(c, "container id")?,
        host: number(h, "host id")?,
        size: number(n, "size")?,
    };
    if r.size == 0 {
        return Err(IdMapError::ZeroSize {
            which,
            range: range.to_string(),
        });
    }
    // The kernel refuses an extent whose end wraps past u32::MAX.
    let limit = u64::from(u32::MAX);
    if IdRange::end(r.container, r.size) > limit || IdRange::end(r.host, r.size) > limit {
        return Err(IdMapError::Overflow {
            which,
            range: range.to_string(),
        });
    }
    Ok(r)
}

fn check_overlaps(which: &'static str, ranges: &[IdRange]) -> Result<(), IdMapError> {
    let overlap = |a0: u32, b0: u32, size_a: u32, size_b: u32| {
        u64::from(a0) < IdRange::end(b0, size_b) && u64::from(b0) < IdRange::end(a0, size_a)
    };
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            let side = if overlap(a.container, b.container, a.size, b.size) {
                "container"
            } else if overlap(a.host, b.host, a.size, b.size) {
                "host"
            } else {
                continue;
            };
            return Err(IdMapError::Overlap {
                which,
                a: a.to_string(),
                b: b.to_string(),
                side,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(container: u32, host: u32, size: u32) -> IdRange {
        IdRange {
            container,
            host,
            size,
        }
    }

    #[test]
    fn parses_crio_forms() {
        let m = IdMap::parse("uid", "0-100000-65536@").unwrap();
        assert_eq!(m.ranges(), &[r(0, 100000, 65536)]);
        assert_eq!(m.to_proc_format(), "0 100000 65536\n");
        let m = IdMap::parse("uid", "0-1000-1@1-100000-65535").unwrap();
        assert_eq!(m.ranges(), &[r(0, 1000, 1), r(1, 100000, 65535)]);
        assert_eq!(m.to_proc_format(), "0 1000 1\n1 100000 65535\n");
        assert!(m.maps_root());
        assert!(!IdMap::parse("gid", "1-1-1").unwrap().maps_root());
    }

    #[test]
    fn refuses_what_the_kernel_would() {
        let bad = |s: &str| IdMap::parse("uid", s).unwrap_err();
        assert!(matches!(bad(""), IdMapError::Empty { .. }));
        assert!(matches!(bad("@"), IdMapError::Empty { .. }));
        assert!(matches!(bad("0-1-1@@"), IdMapError::Shape { .. }));
        assert!(matches!(bad("0-1"), IdMapError::Shape { .. }));
        assert!(matches!(bad("0-1-1-1"), IdMapError::Shape { .. }));
        assert!(matches!(bad("a-1-1"), IdMapError::Number { .. }));
        assert!(matches!(bad("+0-1-1"), IdMapError::Number { .. }));
        assert!(matches!(bad("0- 1-1"), IdMapError::Number { .. }));
        assert!(matches!(bad("0-1-4294967296"), IdMapError::Number { .. }));
        assert!(matches!(bad("0-1-0"), IdMapError::ZeroSize { .. }));
        assert!(matches!(
            bad("4294967290-0-10"),
            IdMapError::Overflow { .. }
        ));
        assert!(matches!(
            bad("0-100000-10@5-200000-10"),
            IdMapError::Overlap {
                side: "container",
                ..
            }
        ));
        assert!(matches!(
            bad("0-100000-10@50-100005-10"),
            IdMapError::Overlap { side: "host", .. }
        ));
        let many: String = (0..341).map(|i| format!("{i}-{}-1@", 1000 + i)).collect();
        assert!(matches!(bad(&many), IdMapError::TooMany { count: 341, .. }));
        assert!(matches!(
            bad(&page_sized(1)),
            IdMapError::TooLong { bytes: 4096, .. }
        ));
    }

    /// 340 ranges whose uid_map text is 4095 + `extra` bytes long.
    pub(crate) fn page_sized(extra: usize) -> String {
        (0..340u32)
            .map(|i| {
                // 4-digit host ids, the last 126 5-digit: 4095 bytes in all.
                let host = if i < 214 {
                    1_000 + 10 * i
                } else {
                    50_000 + 10 * i
                };
                let size = if (i as usize) < extra { 10 } else { 1 };
                format!("{}-{host}-{size}@", i * 10)
            })
            .collect()
    }

    #[test]
    fn the_largest_map_the_kernel_takes_is_accepted() {
        let m = IdMap::parse("uid", &page_sized(0)).unwrap();
        assert_eq!(m.ranges().len(), 340);
        assert_eq!(m.to_proc_format().len(), 4095);
    }

    #[test]
    fn mapped_ids() {
        let m = IdMap::parse("gid", "1000-200000-10@0-100000-1000").unwrap();
        assert!(m.maps_container_id(0) && m.maps_container_id(1009));
        assert!(!m.maps_container_id(1010));
        assert_eq!(m.highest_container_id(), 1009);
        let top = IdMap::parse("gid", "4294967293-0-1").unwrap();
        assert_eq!(top.highest_container_id(), 4294967293);
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = IdMap::parse("uid", &s);
        }

        #[test]
        fn accepted_maps_round_trip(s in "([0-9]{1,10}-[0-9]{1,10}-[0-9]{1,10}@){1,4}") {
            if let Ok(m) = IdMap::parse("uid", &s) {
                prop_assert_eq!(IdMap::parse("uid", &m.to_string()).unwrap(), m.clone());
                prop_assert_eq!(m.to_proc_format().lines().count(), m.ranges().len());
            }
        }

        #[test]
        fn disjoint_ranges_are_accepted(n in 1usize..20, size in 1u32..1000) {
            let s: String = (0..n as u32)
                .map(|i| format!("{}-{}-{size}@", i * size, 100_000 + i * size))
                .collect();
            prop_assert_eq!(IdMap::parse("uid", &s).unwrap().ranges().len(), n);
        }
    }
}
