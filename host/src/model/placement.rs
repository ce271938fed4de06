//! Where a source is checked (DESIGN §10): its locations and the quorum
//! that turns their results into one outcome.

use serde::{Deserialize, Serialize};

/// The service's own replicas, as a location: the default, always granted.
pub const CENTRAL: &str = "central";

/// The `location` of a check that combines several locations' results
/// (never a location's name).
pub const COMBINED: &str = "combined";

/// Longest location name, in characters.
pub const MAX_LOCATION_CHARS: usize = 64;

/// A source's locations and `min_locations_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Where every check of the source runs: `central` or private
    /// locations served by agents. Never empty, no repeats.
    pub locations: Vec<String>,
    /// How many locations' newest checks must be failing for the source
    /// to count as down (Datadog's `min_location_failed`).
    pub min_locations_failed: u32,
}

impl Default for Placement {
    fn default() -> Self {
        Self { locations: vec![CENTRAL.into()], min_locations_failed: 1 }
    }
}

impl Placement {
    /// Whether the service's own replicas run this source's checks.
    pub fn central(&self) -> bool {
        self.locations.iter().any(|l| l == CENTRAL)
    }

    /// Whether `location` runs this source's checks.
    pub fn has(&self, location: &str) -> bool {
        self.locations.iter().any(|l| l == location)
    }

    /// The default placement (stored as nothing).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The locations without repeats, in their first order; checked: not
    /// empty, each a valid name, and a quorum between 1 and their count.
    pub fn normalized(locations: Vec<String>, min_locations_failed: u32) -> Result<Self, String> {
        let mut seen = Vec::<String>::new();
        for l in locations {
            if !is_location_name(&l) {
                return Err(format!(
                    "{l:?} is not a location name (1 to {MAX_LOCATION_CHARS} of a-z, 0-9, '-', '_', '.')"
                ));
            }
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        if seen.is_empty() {
            return Err("must name at least one location".into());
        }
        if min_locations_failed == 0 || min_locations_failed as usize > seen.len() {
            return Err(format!(
                "min_locations_failed must be between 1 and the number of locations ({}), not {min_locations_failed}",
                seen.len()
            ));
        }
        Ok(Self { locations: seen, min_locations_failed })
    }
}

/// A location name: 1 to [`MAX_LOCATION_CHARS`] of lower-case ASCII
/// letters, digits, `-`, `_` and `.` (it appears in metric labels, URLs
/// and error messages as it is), and not [`COMBINED`].
pub fn is_location_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LOCATION_CHARS
        && name != COMBINED
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked_and_deduplicated() {
        let p = Placement::normalized(vec!["site-a".into(), "central".into(), "site-a".into()], 2)
            .expect("fixture");
        assert_eq!(p.locations, ["site-a", "central"]);
        assert!(p.central() && p.has("site-a") && !p.has("site-b"));
        assert!(Placement::normalized(vec![], 1).expect_err("refused").contains("at least one"));
        assert!(Placement::normalized(vec!["a".into()], 2).expect_err("refused").contains("between 1 and"));
        assert!(Placement::normalized(vec!["a".into()], 0).is_err());
        assert!(
            Placement::normalized(vec!["Site A".into()], 1)
                .expect_err("refused")
                .contains("not a location name")
        );
        assert!(Placement::default().is_default() && Placement::default().central());
    }
}
