//! The network interfaces of the current network namespace (`getifaddrs(3)`).

use crate::error::{Error, Result};

/// One address of a network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub interface: String,
    pub up: bool,
    pub loopback: bool,
    /// `None` for the link-level entry of an interface.
    pub address: Option<(std::net::IpAddr, u8)>,
}

/// Interfaces and addresses of the current network namespace.
pub fn interface_addresses() -> Result<Vec<IfAddr>> {
    use nix::net::if_::InterfaceFlags;
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| Error::call("getifaddrs", e))?;
    Ok(addrs
        .map(|a| IfAddr {
            up: a.flags.contains(InterfaceFlags::IFF_UP),
            loopback: a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            address: ip_and_prefix(a.address.as_ref(), a.netmask.as_ref()),
            interface: a.interface_name,
        })
        .collect())
}

fn ip_and_prefix(
    addr: Option<&nix::sys::socket::SockaddrStorage>,
    mask: Option<&nix::sys::socket::SockaddrStorage>,
) -> Option<(std::net::IpAddr, u8)> {
    let addr = addr?;
    if let Some(v4) = addr.as_sockaddr_in() {
        let prefix = mask
            .and_then(|m| m.as_sockaddr_in())
            .map_or(32, |m| m.ip().to_bits().count_ones() as u8);
        return Some((v4.ip().into(), prefix));
    }
    let v6 = addr.as_sockaddr_in6()?;
    let prefix = mask
        .and_then(|m| m.as_sockaddr_in6())
        .map_or(128, |m| m.ip().to_bits().count_ones() as u8);
    Some((v6.ip().into(), prefix))
}
