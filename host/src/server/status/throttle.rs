//! Failed sign-ins, counted per client: after [`MAX_FAILURES`] within
//! [`WINDOW`], a client's further attempts answer 429 with `Retry-After`
//! until its window has passed, and its keys are not even compared.
//!
//! Counted in memory, per replica (each replica bounds its own share of a
//! guesser's attempts). Clients are IPv4 addresses and IPv6 /64 prefixes,
//! since one IPv6 host commonly holds a whole /64. The map holds at most
//! [`MAX_CLIENTS`]: expired windows go first, then the oldest one. A
//! success does not reset the count, or one known key would let a client
//! interleave guesses of others without end.
//!
//! A hand-rolled fixed window rather than a rate-limiting crate: the
//! `governor` family counts every request and cannot tell failures apart
//! without a second map, and this is twenty lines.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins a client may make within one [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// How long failures count from a client's first one.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Clients remembered at once.
pub const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

/// The failure counts of one replica.
#[derive(Debug, Default)]
pub struct Throttle {
    clients: Mutex<HashMap<IpAddr, Window>>,
}

/// The key a client is counted under.
fn client(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl Throttle {
    /// How long `ip` must wait before trying again, if it must.
    pub fn retry_after(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let w = clients.get(&client(ip))?;
        let elapsed = now.saturating_duration_since(w.start);
        (elapsed < WINDOW && w.failures >= MAX_FAILURES).then(|| WINDOW - elapsed)
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let key = client(ip);
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, w| now.saturating_duration_since(w.start) < WINDOW);
            if clients.len() >= MAX_CLIENTS {
                let oldest = clients.iter().min_by_key(|(_, w)| w.start).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    clients.remove(&k);
                }
            }
        }
        let w = clients.entry(key).or_insert(Window { start: now, failures: 0 });
        if now.saturating_duration_since(w.start) >= WINDOW {
            *w = Window { start: now, failures: 0 };
        }
        w.failures += 1;
    }

    /// Clients remembered now.
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn five_failures_within_a_minute_hold_the_client_until_its_window_passes() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(t.retry_after(a, start), None, "after {i} failures");
            t.failed(a, start + Duration::from_secs(u64::from(i)));
        }
        let wait = t.retry_after(a, start + Duration::from_secs(10)).expect("held");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(t.retry_after(b, start), None, "another client is not held");
        assert_eq!(t.retry_after(a, start + WINDOW), None, "the window passed");
        t.failed(a, start + WINDOW);
        assert_eq!(t.retry_after(a, start + WINDOW), None, "a new window counts from one");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_a_mapped_ipv4_is_its_ipv4() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            t.failed(format!("2001:db8::{i}").parse().expect("ip"), now);
        }
        assert!(t.retry_after("2001:db8::ffff:1".parse().expect("ip"), now).is_some());
        assert!(t.retry_after("2001:db8:0:1::1".parse().expect("ip"), now).is_none());
        for _ in 0..MAX_FAILURES {
            t.failed("::ffff:192.0.2.9".parse().expect("ip"), now);
        }
        assert!(t.retry_after("192.0.2.9".parse().expect("ip"), now).is_some());
    }

    #[test]
    fn the_map_stays_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 100) {
            t.failed(IpAddr::V4(Ipv4Addr::from(i)), now + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(t.len(), MAX_CLIENTS);
        // The newest stays, the oldest went.
        let newest = IpAddr::V4(Ipv4Addr::from(MAX_CLIENTS as u32 + 99));
        let guard = t.clients.lock().expect("lock");
        assert!(guard.contains_key(&newest) && !guard.contains_key(&IpAddr::V4(Ipv4Addr::from(0))));
    }
}
