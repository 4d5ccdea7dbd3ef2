//! Which of this machine's addresses the room is shared on by default.

use std::net::IpAddr;

use crate::config::ShareAddr;

/// This machine's IPv4 network addresses, private ranges first (the ones a
/// LAN uses): not loopback, not link-local, on interfaces that are up.
pub fn network_addrs() -> Vec<ShareAddr> {
    let interfaces = match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces,
        Err(err) => {
            log::warn!("cannot list this machine's network addresses: {err}");
            return Vec::new();
        }
    };
    let mut ips: Vec<IpAddr> = interfaces
        .iter()
        .filter(|interface| {
            interface.ip().is_ipv4() && !interface.is_loopback() && !interface.is_link_local()
        })
        .map(if_addrs::Interface::ip)
        .collect();
    ips.sort_by_key(|ip| (!is_private(*ip), *ip));
    ips.dedup();
    ips.into_iter()
        .map(|ip| ShareAddr { ip, port: None })
        .collect()
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_loopback_or_link_local() {
        for addr in network_addrs() {
            assert!(!addr.ip.is_loopback(), "{addr}");
            assert!(addr.port.is_none());
            if let IpAddr::V4(v4) = addr.ip {
                assert!(!v4.is_link_local(), "{addr}");
            }
        }
    }
}
