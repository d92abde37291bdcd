//! C strings and paths for code that runs before the C library has started
//! (the fast pin path): argv and the environment as the kernel laid them
//! out, and paths built on the stack. Each byte is read and written once,
//! volatile, so that the compiler cannot make a `strlen` or `memcpy` call
//! of a loop (libc's are not resolved yet then); `crate::bytes` has the
//! comparisons.

use crate::bytes::byte;
use core::mem::MaybeUninit;
use core::ptr;

/// The NUL-terminated string at `p`, its NUL included.
///
/// # Safety
/// `p` points to a NUL-terminated string that lives and stays unchanged
/// for `'a` (the strings of the initial stack do).
unsafe fn c_string<'a>(p: *const u8) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: the caller's contract: every byte up to the NUL is readable.
    while unsafe { ptr::read_volatile(p.add(len)) } != 0 {
        len += 1;
    }
    // SAFETY: `len` bytes and the NUL were just read.
    unsafe { core::slice::from_raw_parts(p, len + 1) }
}

/// NUL-terminated strings by pointer, as the kernel lays out argv and the
/// environment on the initial stack.
#[derive(Clone, Copy)]
pub struct CStrings<'a> {
    ptrs: &'a [*const u8],
}

impl<'a> CStrings<'a> {
    /// # Safety
    /// Each pointer is NULL or a NUL-terminated string that lives and stays
    /// unchanged for `'a`.
    pub unsafe fn new(ptrs: &'a [*const u8]) -> CStrings<'a> {
        CStrings { ptrs }
    }

    /// String `i`, NUL included.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let p = *self.ptrs.get(i)?;
        // SAFETY: `new`'s contract.
        (!p.is_null()).then(|| unsafe { c_string(p) })
    }

    pub fn len(&self) -> usize {
        self.ptrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ptrs.is_empty()
    }
}

/// `f` on `strings` laid out as [`CStrings`] (for tests).
#[cfg(test)]
pub fn with_c_strings<T>(strings: &[&str], f: impl FnOnce(CStrings<'_>) -> T) -> T {
    let owned: Vec<std::ffi::CString> = strings
        .iter()
        .map(|s| std::ffi::CString::new(*s).unwrap())
        .collect();
    let ptrs: Vec<*const u8> = owned.iter().map(|c| c.as_ptr().cast()).collect();
    // SAFETY: the strings outlive the call.
    f(unsafe { CStrings::new(&ptrs) })
}

/// A path built in place on the stack, for the kernel: bytes, then a NUL.
pub struct CPath<const N: usize> {
    bytes: [MaybeUninit<u8>; N],
    len: usize,
}

impl<const N: usize> Default for CPath<N> {
    fn default() -> Self {
        CPath {
            bytes: [MaybeUninit::uninit(); N],
            len: 0,
        }
    }
}

impl<const N: usize> CPath<N> {
    /// Appends `s`, each `from` byte written as `to`; false if it does not
    /// fit (with room for the NUL).
    pub fn push_mapped(&mut self, s: &[u8], from: u8, to: u8) -> bool {
        if s.len() >= N - self.len {
            return false;
        }
        for i in 0..s.len() {
            let b = byte(s, i);
            let Some(slot) = self.bytes.get_mut(self.len) else {
                return false;
            };
            // SAFETY: a slot of our own array.
            unsafe { ptr::write_volatile(slot, MaybeUninit::new(if b == from { to } else { b })) };
            self.len += 1;
        }
        true
    }

    pub fn push(&mut self, s: &[u8]) -> bool {
        self.push_mapped(s, 0, 0)
    }

    /// Appends `n` in decimal.
    pub fn push_decimal(&mut self, mut n: u32) -> bool {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        match digits.get(at..) {
            Some(digits) => self.push(digits),
            None => false,
        }
    }

    /// The path with its NUL, for a system call.
    pub fn c_str(&mut self) -> &[u8] {
        let Some(slot) = self.bytes.get_mut(self.len) else {
            return &[];
        };
        *slot = MaybeUninit::new(0);
        // SAFETY: the first `len + 1` bytes were written, the NUL last.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), self.len + 1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_and_paths() {
        let s = c"net.ipv4.ip_forward=1";
        let bytes = with_c_strings(&["net.ipv4.ip_forward=1"], |c| c.get(0).unwrap().to_vec());
        assert_eq!(bytes, s.to_bytes_with_nul());
        assert!(with_c_strings(&["a"], |c| c.get(1).is_none() && c.len() == 1));

        let mut p = CPath::<32>::default();
        assert!(p.push(b"/proc/sys/") && p.push_mapped(b"net.core", b'.', b'/'));
        assert_eq!(p.c_str(), b"/proc/sys/net/core\0");
        let mut p = CPath::<32>::default();
        assert!(p.push(b"/proc/self/fd/") && p.push_decimal(4_294_967_295));
        assert_eq!(p.c_str(), b"/proc/self/fd/4294967295\0");
        let mut p = CPath::<4>::default();
        assert!(p.push_decimal(0) && p.c_str() == b"0\0");
        assert!(!CPath::<4>::default().push(b"abcd"), "no room for the NUL");
    }
}
