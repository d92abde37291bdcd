//! `/proc/self/mountinfo`: which paths are mount points, of what filesystem,
//! with which propagation.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// Optional fields: `shared:N`, `master:N`, `unbindable`, ...
    pub propagation: Vec<String>,
}

impl MountEntry {
    pub fn is_unbindable(&self) -> bool {
        self.propagation.iter().any(|p| p == "unbindable")
    }
}

/// Parses the text of a mountinfo file; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    let (head, tail) = line.split_once(" - ")?;
    let fields: Vec<&str> = head.split(' ').collect();
    if fields.len() < 6 {
        return None;
    }
    let fs_type = tail.split(' ').next()?.to_string();
    Some(MountEntry {
        mount_point: PathBuf::from(unescape(fields[4])),
        fs_type,
        propagation: fields[6..].iter().map(|s| s.to_string()).collect(),
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads this process's mount table.
pub fn read_own() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The topmost mount whose mount point is exactly `path`, if any.
pub fn find<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    mounts.iter().rev().find(|m| m.mount_point == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 22 0:26 / /run rw,nosuid shared:5 - tmpfs tmpfs rw
40 31 0:26 /kubens/mntns /run/kubens/mntns rw unbindable - tmpfs tmpfs rw
41 40 0:4 mnt:[4026532281] /run/kubens/mntns/mnt rw - nsfs nsfs rw
42 31 0:26 / /run/with\\040space rw - tmpfs tmpfs rw
";

    #[test]
    fn parses_points_types_and_propagation() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 5);
        assert_eq!(m[1].mount_point, PathBuf::from("/run"));
        assert_eq!(m[1].propagation, vec!["shared:5"]);
        assert!(m[2].is_unbindable());
        assert!(!m[1].is_unbindable());
        assert_eq!(m[3].fs_type, "nsfs");
        assert_eq!(m[4].mount_point, PathBuf::from("/run/with space"));
        assert_eq!(
            find(&m, Path::new("/run/kubens/mntns")).map(|e| e.fs_type.as_str()),
            Some("tmpfs")
        );
        assert!(find(&m, Path::new("/nowhere")).is_none());
    }

    #[test]
    fn skips_garbage() {
        assert!(parse("not a mountinfo line\n\n1 2 3\n").is_empty());
    }
}
