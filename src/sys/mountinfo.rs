//! `/proc/self/mountinfo`: which mounts exist, of what filesystem, with
//! which propagation. Mount points are bytes, not text: any mount on the
//! host may have a name that is not UTF-8, and it must not stop us from
//! reading the others.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub id: u64,
    pub parent: u64,
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// Optional fields: `shared:N`, `master:N`, `unbindable`, ...
    pub propagation: Vec<String>,
}

impl MountEntry {
    pub fn is_unbindable(&self) -> bool {
        self.propagation.iter().any(|p| p == "unbindable")
    }

    /// Whether the mount receives or sends mounts (`shared:N`, `master:N`).
    pub fn propagates(&self) -> bool {
        self.propagation
            .iter()
            .any(|p| p.starts_with("shared:") || p.starts_with("master:"))
    }
}

/// Parses the bytes of a mountinfo file; malformed lines are skipped.
pub fn parse(text: &[u8]) -> Vec<MountEntry> {
    text.split(|b| *b == b'\n').filter_map(parse_line).collect()
}

fn parse_line(line: &[u8]) -> Option<MountEntry> {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    let dash = fields.iter().position(|f| *f == b"-")?;
    if dash < 6 {
        return None;
    }
    let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
    let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
    Some(MountEntry {
        id: number(fields[0])?,
        parent: number(fields[1])?,
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields[4]))),
        fs_type: text(fields.get(dash + 1)?),
        propagation: fields[6..dash].iter().map(|f| text(f)).collect(),
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`; the
/// result is the name's own bytes.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let octal = s
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) if s[i] == b'\\' && d[0] <= b'3' => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            _ => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    out
}

/// Reads this process's mount table.
pub fn read_own() -> crate::error::Result<Vec<MountEntry>> {
    use crate::error::PathContext;
    const PATH: &str = "/proc/self/mountinfo";
    Ok(parse(&std::fs::read(PATH).at("read", PATH)?))
}

/// The mount with this id (from `statx(STATX_MNT_ID)`), if it is in our table.
pub fn by_id(mounts: &[MountEntry], id: u64) -> Option<&MountEntry> {
    mounts.iter().find(|m| m.id == id)
}

/// Whether any mount sits directly on the mount with this id.
pub fn has_children(mounts: &[MountEntry], id: u64) -> bool {
    mounts.iter().any(|m| m.parent == id && m.id != id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    const SAMPLE: &[u8] = b"\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 22 0:26 / /run rw,nosuid shared:5 - tmpfs tmpfs rw
40 31 0:26 /kubens/mntns /run/kubens/mntns rw unbindable - tmpfs tmpfs rw
41 40 0:4 mnt:[4026532281] /run/kubens/mntns/mnt rw - nsfs nsfs rw
42 31 0:26 / /run/with\\040space rw - tmpfs tmpfs rw
43 31 0:27 / /run/bad\xff\\134 rw shared:9 master:2 - tmpfs tmp\xfes rw
";

    #[test]
    fn parses_ids_points_types_and_propagation() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 6);
        assert_eq!((m[1].id, m[1].parent), (31, 22));
        assert_eq!(m[1].mount_point, PathBuf::from("/run"));
        assert_eq!(m[1].propagation, vec!["shared:5"]);
        assert!(m[2].is_unbindable() && !m[2].propagates());
        assert!(!m[1].is_unbindable() && m[1].propagates());
        assert_eq!(m[3].fs_type, "nsfs");
        assert_eq!(m[4].mount_point, PathBuf::from("/run/with space"));
        assert_eq!(by_id(&m, 40).map(|e| e.fs_type.as_str()), Some("tmpfs"));
        assert!(by_id(&m, 99).is_none());
        assert!(has_children(&m, 40) && !has_children(&m, 41));
    }

    #[test]
    fn a_name_that_is_not_utf8_is_kept_as_bytes() {
        let m = parse(SAMPLE);
        assert_eq!(m[5].mount_point.as_os_str().as_bytes(), b"/run/bad\xff\\");
        assert_eq!(m[5].propagation, vec!["shared:9", "master:2"]);
        assert_eq!(m[5].fs_type, "tmpfs");
    }

    #[test]
    fn skips_garbage() {
        assert!(parse(b"not a mountinfo line\n\n1 2 3\nx y 0:1 / / rw - t s o\n").is_empty());
    }

    fn escape(name: &[u8]) -> Vec<u8> {
        name.iter()
            .flat_map(|b| match b {
                b' ' | b'\t' | b'\n' | b'\\' => format!("\\{b:03o}").into_bytes(),
                b => vec![*b],
            })
            .collect()
    }

    proptest! {
        #[test]
        fn any_escaped_name_comes_back_as_its_bytes(
            name in proptest::collection::vec(1u8..=255, 1..40)
        ) {
            let mut line = b"7 1 0:1 / /".to_vec();
            line.extend(escape(&name));
            line.extend_from_slice(b" rw shared:3 - tmpfs tmpfs rw\n");
            let m = parse(&line);
            prop_assert_eq!(m.len(), 1);
            let mut want = b"/".to_vec();
            want.extend(&name);
            prop_assert_eq!(m[0].mount_point.as_os_str().as_bytes(), &want[..]);
            prop_assert_eq!(&m[0].propagation, &vec!["shared:3".to_string()]);
        }
    }
}
