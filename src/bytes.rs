//! Byte strings, in code that may run before the C library has started
//! (the fast pin path, `crate::fastpin`, and the sysctl table it shares
//! with the full path). The compiler turns plain loops that measure, copy or
//! compare bytes into calls to libc's `strlen`, `memcpy` or `bcmp`, which
//! are not resolved yet then; each byte here goes through `black_box`, so
//! it cannot. `packaging/check-fast-path.py` checks the result.

use std::hint::black_box;

/// A NUL-terminated string without its NUL.
pub fn text(s: &[u8]) -> &[u8] {
    match s.split_last() {
        Some((0, text)) => text,
        _ => s,
    }
}

/// Byte `i` of `s` (0 past its end), through `black_box`: the compiler
/// cannot see a loop of these as one `bcmp` or `strlen`.
pub fn byte(s: &[u8], i: usize) -> u8 {
    black_box(s.get(i).copied().unwrap_or(0))
}

pub fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    (0..a.len()).all(|i| byte(a, i) == byte(b, i))
}

pub fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|head| eq(head, prefix))
}

/// `s` split at the first `sep`, which belongs to neither part.
pub fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    // A search for a byte other than NUL is no libc idiom: left plain, as
    // the sysctl table is read this way row by row.
    let at = s.iter().position(|&b| b == sep)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The parts of `s` between `sep`s (one empty part for an empty `s`).
pub fn parts(s: &[u8], sep: u8) -> Parts<'_> {
    Parts { rest: Some(s), sep }
}

#[derive(Clone)]
pub struct Parts<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Iterator for Parts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match split_once(rest, self.sep) {
            Some((part, after)) => {
                self.rest = Some(after);
                Some(part)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_split_and_compare() {
        assert_eq!(text(b"net.x=1\0"), b"net.x=1");
        assert_eq!(text(b"no nul"), b"no nul");
        let (key, value) = split_once(b"net.ipv4.ip_forward=1", b'=').unwrap();
        assert_eq!((key, value), (&b"net.ipv4.ip_forward"[..], &b"1"[..]));
        assert!(eq(key, b"net.ipv4.ip_forward") && !eq(key, b"net.ipv4.ip_forwarx"));
        assert!(starts_with(key, b"net.") && !starts_with(b"ne", b"net."));
        let got: Vec<&[u8]> = parts(key, b'.').collect();
        assert_eq!(got, [&b"net"[..], b"ipv4", b"ip_forward"]);
        assert_eq!(parts(b"", b'.').count(), 1);
        assert_eq!(parts(b"a..b.", b'.').count(), 4);
    }
}
