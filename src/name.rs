//! Pin names: the `-f NAME` of a pod, a single path component under each
//! `<type>ns` directory.

use std::fmt;

/// Longest file name Linux accepts (NAME_MAX).
const NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("pin name is empty")]
    Empty,
    #[error("pin name {0:?} is not allowed: it must name a file, not a directory")]
    Dots(String),
    #[error("pin name {0:?} contains '/': it must be a single path component")]
    Slash(String),
    #[error("pin name {0:?} contains a control character")]
    Control(String),
    #[error("pin name is {0} bytes long; the limit is 255")]
    TooLong(usize),
}

/// A validated pin name: safe to join to a directory without escaping it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PinName(String);

impl PinName {
    pub fn parse(name: &str) -> Result<PinName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > NAME_MAX {
            return Err(NameError::TooLong(name.len()));
        }
        if name == "." || name == ".." {
            return Err(NameError::Dots(name.to_string()));
        }
        if name.contains('/') {
            return Err(NameError::Slash(name.to_string()));
        }
        // NUL cannot arrive through argv, but names also come from files
        // (--keep-file) and directory listings; control characters would
        // corrupt the line-oriented output of `list`.
        if name.chars().any(char::is_control) {
            return Err(NameError::Control(name.to_string()));
        }
        Ok(PinName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_crio_uuids_and_kubens() {
        for ok in [
            "8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d",
            "mnt",
            "a",
            "pod.with.dots",
            "...",
        ] {
            assert_eq!(PinName::parse(ok).unwrap().as_str(), ok);
        }
        assert!(PinName::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        assert_eq!(PinName::parse(""), Err(NameError::Empty));
        assert!(matches!(PinName::parse("."), Err(NameError::Dots(_))));
        assert!(matches!(PinName::parse(".."), Err(NameError::Dots(_))));
        assert!(matches!(
            PinName::parse("../../x"),
            Err(NameError::Slash(_))
        ));
        assert!(matches!(PinName::parse("a/b"), Err(NameError::Slash(_))));
        assert!(matches!(PinName::parse("/"), Err(NameError::Slash(_))));
        assert!(matches!(PinName::parse("a\0b"), Err(NameError::Control(_))));
        assert!(matches!(PinName::parse("a\nb"), Err(NameError::Control(_))));
        assert_eq!(
            PinName::parse(&"x".repeat(256)),
            Err(NameError::TooLong(256))
        );
    }

    proptest! {
        #[test]
        fn accepted_names_are_one_component(s in "\\PC{0,300}") {
            if let Ok(name) = PinName::parse(&s) {
                let path = std::path::Path::new("/base").join(name.as_str());
                prop_assert_eq!(path.parent(), Some(std::path::Path::new("/base")));
                prop_assert_eq!(name.to_string(), s);
            }
        }

        #[test]
        fn any_string_is_accepted_or_refused_without_panic(s in any::<String>()) {
            let _ = PinName::parse(&s);
        }
    }
}
