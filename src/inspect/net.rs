//! The interfaces of a network namespace from what the kernel prints
//! (`/proc/net/dev`, `/proc/net/if_inet6`) and `getifaddrs`: pure parsers
//! and their merge.

use super::Interface;
use crate::escape::Text;
use crate::sys;
use std::collections::BTreeMap;

/// `/proc/net/dev`: interface name, received and transmitted bytes.
pub fn parse_net_dev(text: &[u8]) -> Vec<(Text, u64, u64)> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            // A name holds no ':' (the kernel refuses it), the counters none.
            let colon = line.iter().rposition(|b| *b == b':')?;
            let (name, counters) = (&line[..colon], &line[colon + 1..]);
            let fields: Vec<u64> = std::str::from_utf8(counters)
                .ok()?
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .ok()?;
            // 8 receive counters, then 8 transmit counters; bytes come first.
            (fields.len() >= 16).then(|| (Text::from(name.trim_ascii()), fields[0], fields[8]))
        })
        .collect()
}

/// `/proc/net/if_inet6`: (interface, `address/prefix`).
pub fn parse_if_inet6(text: &[u8]) -> Vec<(Text, String)> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .collect();
            let [hex, _index, prefix, _scope, _flags, name] = f.as_slice() else {
                return None;
            };
            let (hex, prefix) = (
                std::str::from_utf8(hex).ok()?,
                std::str::from_utf8(prefix).ok()?,
            );
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            let prefix = u8::from_str_radix(prefix, 16).ok()?;
            let addr = std::net::Ipv6Addr::from_bits(bits);
            Some((Text::from(*name), format!("{addr}/{prefix}")))
        })
        .collect()
}

/// One entry per interface of `/proc/net/dev`, with every address known from
/// `getifaddrs` and `if_inet6`, each once. `getifaddrs` names come as lossy
/// UTF-8, so they are matched to the exact names by their lossy form.
pub(super) fn merge_interfaces(
    dev: &[(Text, u64, u64)],
    inet6: &[(Text, String)],
    addrs: &[sys::net::IfAddr],
) -> Vec<Interface> {
    let mut by_name: BTreeMap<Text, Interface> = BTreeMap::new();
    for (name, rx, tx) in dev {
        by_name.insert(
            name.clone(),
            Interface {
                name: name.clone(),
                up: false,
                loopback: false,
                addresses: Vec::new(),
                rx_bytes: *rx,
                tx_bytes: *tx,
            },
        );
    }
    let exact: BTreeMap<String, Text> = dev
        .iter()
        .map(|(name, _, _)| (name.lossy(), name.clone()))
        .collect();
    let mut add = |name: Text, addr: Option<String>, flags: Option<(bool, bool)>| {
        let iface = by_name.entry(name.clone()).or_insert_with(|| Interface {
            name,
            up: false,
            loopback: false,
            addresses: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
        });
        if let Some((up, loopback)) = flags {
            iface.up |= up;
            iface.loopback |= loopback;
        }
        if let Some(a) = addr {
            if !iface.addresses.contains(&a) {
                iface.addresses.push(a);
            }
        }
    };
    for a in addrs {
        let addr = a.address.map(|(ip, prefix)| format!("{ip}/{prefix}"));
        let name = exact
            .get(&a.interface)
            .cloned()
            .unwrap_or_else(|| Text::from(a.interface.as_str()));
        add(name, addr, Some((a.up, a.loopback)));
    }
    for (name, addr) in inet6 {
        add(name.clone(), Some(addr.clone()), None);
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
";

    #[test]
    fn reads_net_dev_counters() {
        assert_eq!(
            parse_net_dev(NET_DEV.as_bytes()),
            vec![("lo".into(), 120, 120), ("eth0".into(), 1000, 2000)]
        );
        assert!(parse_net_dev(b"garbage\nx: 1 2\n").is_empty());
        let odd = b"  e\x1b[1m\xffx: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(odd),
            vec![(Text::from(&b"e\x1b[1m\xffx"[..]), 1, 2)]
        );
    }

    #[test]
    fn reads_if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe800000000000000000000000000001 02 40 20 80     eth0\n\
                    short 01 80 10 80 lo\n";
        assert_eq!(
            parse_if_inet6(text.as_bytes()),
            vec![
                ("lo".into(), "::1/128".to_string()),
                ("eth0".into(), "fe80::1/64".to_string())
            ]
        );
    }

    #[test]
    fn merges_addresses_once() {
        let addrs = vec![
            sys::net::IfAddr {
                interface: "lo".into(),
                up: true,
                loopback: true,
                address: Some(("127.0.0.1".parse().unwrap(), 8)),
            },
            sys::net::IfAddr {
                interface: "lo".into(),
                up: true,
                loopback: true,
                address: Some(("::1".parse().unwrap(), 128)),
            },
        ];
        let merged = merge_interfaces(
            &parse_net_dev(NET_DEV.as_bytes()),
            &[("lo".into(), "::1/128".into())],
            &addrs,
        );
        assert_eq!(merged.len(), 2);
        let lo = merged.iter().find(|i| i.name == "lo".into()).unwrap();
        assert!(lo.up && lo.loopback);
        assert_eq!(lo.addresses, vec!["127.0.0.1/8", "::1/128"]);
        let eth0 = merged.iter().find(|i| i.name == "eth0".into()).unwrap();
        assert!(!eth0.up && eth0.addresses.is_empty());
        assert_eq!(eth0.tx_bytes, 2000);
    }
}
