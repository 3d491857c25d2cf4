//! The hybrid logical clock that orders changes across devices: a wall-clock time in ms, a
//! counter for changes within the same ms (or while the wall clock is behind a time already
//! seen), and the device id as the tie-break. A device's clock never goes back and is moved
//! past every clock it reads from others, so a change made after seeing another is always
//! the newer one, whatever the two machines' clocks say.
//!
//! Written as text whose byte order is the clock's order (`{ms:015}.{n:010}.{device}`), so
//! SQLite compares stamps with `max()` and `>=`.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hlc {
    pub ms: i64,
    pub n: u64,
    pub device: String,
}

impl Hlc {
    /// The next stamp on `device` for a change made at wall time `at` (ms), after `last`.
    pub fn tick(last: Option<&Hlc>, at: i64, device: &str) -> Hlc {
        let (ms, n) = match last {
            Some(l) if l.ms >= at => (l.ms, l.n + 1),
            _ => (at.max(0), 0),
        };
        Hlc {
            ms,
            n,
            device: device.to_owned(),
        }
    }

    pub fn parse(s: &str) -> Option<Hlc> {
        let mut parts = s.splitn(3, '.');
        let ms = parts.next()?;
        let n = parts.next()?;
        let device = parts.next()?;
        if ms.len() != 15 || n.len() != 10 || device.is_empty() {
            return None;
        }
        Some(Hlc {
            ms: ms.parse().ok()?,
            n: n.parse().ok()?,
            device: device.to_owned(),
        })
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}.{:010}.{}", self.ms, self.n, self.device)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_order_is_clock_order_and_ticks_never_go_back() {
        let a = Hlc::tick(None, 1_700_000_000_000, "a");
        let b = Hlc::tick(Some(&a), 1_600_000_000_000, "a"); // the wall clock went back
        let c = Hlc::tick(Some(&b), 1_800_000_000_000, "a");
        assert!(a < b && b < c);
        assert_eq!((b.ms, b.n), (a.ms, 1));
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        let other = Hlc::tick(None, 1_700_000_000_000, "b");
        assert!(a < other && a.to_string() < other.to_string());
        assert_eq!(Hlc::parse(&c.to_string()), Some(c));
        assert_eq!(Hlc::parse("12.3.x"), None);
    }
}
