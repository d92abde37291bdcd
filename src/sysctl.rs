//! Pod sysctls: parsing `KEY=VALUE` and deciding which namespace a key
//! lives in.
//!
//! Only keys that are namespaced by the kernel are accepted, and only when the
//! namespace they live in is created by this very call: anything else would
//! change the host. Everything here is pure; the writes are in
//! [`crate::sysctl_write`].

use crate::ns::NsKind;
use std::fmt;
use std::path::PathBuf;

/// Longest value we pass on; sysctl writes are limited to a page.
const VALUE_MAX: usize = 4096;
/// `__NEW_UTS_LEN`: the kernel's limit for hostname and domainname.
const UTS_MAX: usize = 64;

/// IPC sysctls that live in the ipc namespace (besides `fs.mqueue.*`).
const IPC_KERNEL_KEYS: [&str; 8] = [
    "shmall",
    "shmmax",
    "shmmni",
    "shm_rmid_forced",
    "msgmax",
    "msgmnb",
    "msgmni",
    "sem",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {0:?} must be KEY=VALUE")]
    NoEquals(String),
    #[error("sysctl {0:?} has an empty key")]
    EmptyKey(String),
    #[error("sysctl {0} has an empty value")]
    EmptyValue(String),
    #[error("sysctl key {0:?} is malformed: {1}")]
    BadKey(String, &'static str),
    #[error("sysctl {0} value contains a control character")]
    BadValue(String),
    #[error("sysctl {0} value is {1} bytes long; the limit is {2}")]
    ValueTooLong(String, usize, usize),
    #[error("sysctl {0} is not namespaced: setting it would change the host")]
    NotNamespaced(String),
    #[error("sysctl {key} lives in the {ns} namespace, which this call does not create (add --{ns}, without =host)")]
    NamespaceNotCreated { key: String, ns: NsKind },
    #[error("sysctl {0} is given twice with different values")]
    Conflict(String),
    #[error("sysctl {0} does not exist on this kernel")]
    Unknown(String),
}

/// Where a value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sethostname(2)`: the kernel lets a process with CAP_SYS_ADMIN over
    /// the UTS namespace call it, but only the host's root may write the
    /// proc file, which a process inside a user namespace is not.
    Hostname,
    /// `setdomainname(2)`, for the same reason.
    Domainname,
    /// A file below `/proc/sys`, as a relative path.
    File(PathBuf),
}

/// A parsed, namespace-checked `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    components: Vec<String>,
    value: String,
    ns: NsKind,
}

impl Sysctl {
    /// Parses `KEY=VALUE`. Keys use `.` or `/` as separator; when a key
    /// contains `/`, dots are part of a component (`net/ipv4/conf/eth0.100/forwarding`).
    pub fn parse(spec: &str) -> Result<Sysctl, SysctlError> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| SysctlError::NoEquals(spec.to_string()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(SysctlError::EmptyKey(spec.to_string()));
        }
        let components = split_key(key)?;
        let display = join_display(&components);
        let value = value.trim();
        if value.is_empty() {
            return Err(SysctlError::EmptyValue(display));
        }
        if value.chars().any(char::is_control) {
            return Err(SysctlError::BadValue(display));
        }
        let ns =
            namespace_of(&components).ok_or_else(|| SysctlError::NotNamespaced(display.clone()))?;
        let limit = if ns == NsKind::Uts {
            UTS_MAX
        } else {
            VALUE_MAX
        };
        if value.len() > limit {
            return Err(SysctlError::ValueTooLong(display, value.len(), limit));
        }
        Ok(Sysctl {
            components,
            value: value.to_string(),
            ns,
        })
    }

    /// The namespace the key lives in.
    pub fn namespace(&self) -> NsKind {
        self.ns
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The key as the user would write it (dots, or slashes when a
    /// component holds a dot).
    pub fn key(&self) -> String {
        join_display(&self.components)
    }

    /// Where the value is written.
    pub fn target(&self) -> Target {
        match (self.ns, self.components[1].as_str()) {
            (NsKind::Uts, "hostname") => Target::Hostname,
            (NsKind::Uts, _) => Target::Domainname,
            _ => Target::File(self.components.iter().collect()),
        }
    }

    /// Path below `/proc/sys`.
    pub fn relative_path(&self) -> PathBuf {
        self.components.iter().collect()
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key(), self.value)
    }
}

fn split_key(key: &str) -> Result<Vec<String>, SysctlError> {
    let sep = if key.contains('/') { '/' } else { '.' };
    let components: Vec<String> = key.split(sep).map(str::to_string).collect();
    for c in &components {
        let reason = if c.is_empty() {
            Some("empty component")
        } else if c == "." || c == ".." {
            Some("'.' or '..' component")
        } else if c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
            Some("control character or space")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(SysctlError::BadKey(key.to_string(), reason));
        }
    }
    if components.len() < 2 {
        return Err(SysctlError::BadKey(
            key.to_string(),
            "a key has at least two components",
        ));
    }
    Ok(components)
}

fn join_display(components: &[String]) -> String {
    let sep = if components.iter().any(|c| c.contains('.')) {
        "/"
    } else {
        "."
    };
    components.join(sep)
}

/// Which namespace a key belongs to, or None when it is global (host-wide).
fn namespace_of(components: &[String]) -> Option<NsKind> {
    let parts: Vec<&str> = components.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["net", _, ..] => Some(NsKind::Net),
        ["fs", "mqueue", _, ..] => Some(NsKind::Ipc),
        ["kernel", "hostname" | "domainname"] => Some(NsKind::Uts),
        ["kernel", key] if IPC_KERNEL_KEYS.contains(key) => Some(NsKind::Ipc),
        _ => None,
    }
}

/// Parses every spec, drops exact repeats, and refuses a key given twice with
/// different values.
pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Sysctl>, SysctlError> {
    let mut out: Vec<Sysctl> = Vec::with_capacity(specs.len());
    for spec in specs {
        let sysctl = Sysctl::parse(spec.as_ref())?;
        match out.iter().find(|s| s.components == sysctl.components) {
            Some(prev) if prev.value == sysctl.value => {}
            Some(_) => return Err(SysctlError::Conflict(sysctl.key())),
            None => out.push(sysctl),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ns(spec: &str) -> NsKind {
        Sysctl::parse(spec).unwrap().namespace()
    }

    #[test]
    fn classifies_namespaced_keys() {
        assert_eq!(ns("net.ipv4.ip_forward=1"), NsKind::Net);
        assert_eq!(ns("net.ipv4.ip_local_port_range=1024 65000"), NsKind::Net);
        assert_eq!(ns("kernel.shm_rmid_forced=1"), NsKind::Ipc);
        assert_eq!(ns("kernel.sem=250 32000 32 128"), NsKind::Ipc);
        assert_eq!(ns("fs.mqueue.msg_max=20"), NsKind::Ipc);
        assert_eq!(ns("kernel.hostname=pod-a"), NsKind::Uts);
        assert_eq!(ns("kernel/domainname=example"), NsKind::Uts);
    }

    #[test]
    fn refuses_host_wide_keys() {
        for spec in [
            "vm.swappiness=33",
            "kernel.pid_max=4096",
            "kernel.shm_next_id=1",
            "fs.file-max=1",
            "net=1",
            "fs.mqueue=1",
            "kernel.hostname.x=1",
        ] {
            assert!(Sysctl::parse(spec).is_err(), "{spec} was accepted");
        }
        assert!(matches!(
            Sysctl::parse("vm.swappiness=33"),
            Err(SysctlError::NotNamespaced(_))
        ));
    }

    #[test]
    fn slash_form_keeps_dots_in_components() {
        let s = Sysctl::parse("net/ipv4/conf/eth0.100/forwarding=1").unwrap();
        assert_eq!(
            s.target(),
            Target::File(PathBuf::from("net/ipv4/conf/eth0.100/forwarding"))
        );
        assert_eq!(s.key(), "net/ipv4/conf/eth0.100/forwarding");
        let d = Sysctl::parse("net.ipv4.ip_forward=1").unwrap();
        assert_eq!(d.relative_path(), PathBuf::from("net/ipv4/ip_forward"));
        assert_eq!(d, Sysctl::parse("net/ipv4/ip_forward=1").unwrap());
        assert_eq!(
            Sysctl::parse("kernel.hostname=h").unwrap().target(),
            Target::Hostname
        );
    }

    #[test]
    fn value_keeps_inner_spaces_and_equals() {
        let s = Sysctl::parse("net.ipv4.ip_local_port_range=1024 65000").unwrap();
        assert_eq!(s.value(), "1024 65000");
        let s = Sysctl::parse("kernel.domainname=a=b").unwrap();
        assert_eq!(s.value(), "a=b");
    }

    #[test]
    fn refuses_malformed_specs() {
        assert!(matches!(
            Sysctl::parse("net.ipv4.ip_forward"),
            Err(SysctlError::NoEquals(_))
        ));
        assert!(matches!(Sysctl::parse("=1"), Err(SysctlError::EmptyKey(_))));
        assert!(matches!(
            Sysctl::parse("net.ipv4.ip_forward="),
            Err(SysctlError::EmptyValue(_))
        ));
        assert!(matches!(
            Sysctl::parse("net..ip_forward=1"),
            Err(SysctlError::BadKey(..))
        ));
        assert!(matches!(
            Sysctl::parse("net/../../etc=1"),
            Err(SysctlError::BadKey(..))
        ));
        assert!(matches!(
            Sysctl::parse("net.ipv4.ip_forward=1\n2"),
            Err(SysctlError::BadValue(_))
        ));
        assert!(matches!(
            Sysctl::parse(&format!("kernel.hostname={}", "h".repeat(65))),
            Err(SysctlError::ValueTooLong(..))
        ));
    }

    #[test]
    fn repeats_are_merged_and_conflicts_refused() {
        let v = parse_all(&["net.ipv4.ip_forward=1", "net/ipv4/ip_forward=1"]).unwrap();
        assert_eq!(v.len(), 1);
        assert!(matches!(
            parse_all(&["net.ipv4.ip_forward=1", "net.ipv4.ip_forward=0"]),
            Err(SysctlError::Conflict(_))
        ));
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Sysctl::parse(&s);
        }

        #[test]
        fn accepted_specs_round_trip_and_stay_under_proc_sys(
            key in "(net|kernel|fs)([./][a-z0-9_.-]{1,12}){1,4}",
            value in "[ -~]{0,20}",
        ) {
            if let Ok(s) = Sysctl::parse(&format!("{key}={value}")) {
                let again = Sysctl::parse(&s.to_string()).unwrap();
                prop_assert_eq!(&again, &s);
                let path = s.relative_path();
                prop_assert!(path.is_relative());
                prop_assert!(!path.components().any(|c| c == std::path::Component::ParentDir));
            }
        }
    }
}
