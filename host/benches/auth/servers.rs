//! What each real server of the auth tests costs a test that starts it
//! (part of the CI time this issue adds): from spawning it to its first
//! answer, as each helper measures it, three starts each, one after the
//! other.

use std::time::Duration;

use sonde_test_support::azurite::Azurite;
use sonde_test_support::oidc::OidcProvider;
use sonde_test_support::seaweedfs::SeaweedFs;

use super::{load, median};

const STARTS: usize = 3;

fn ms(v: &mut [Duration]) -> String {
    let all: Vec<String> = v.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect();
    format!("{:.0} ms ({})", median(v).as_secs_f64() * 1e3, all.join(", "))
}

pub fn run() {
    let (mut weed, mut oidc, mut azurite) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..STARTS {
        // Each is stopped (dropped) before the next starts.
        if let Some(s) = SeaweedFs::start() {
            weed.push(s.startup);
        }
        if let Some(s) = OidcProvider::start() {
            oidc.push(s.startup);
        }
        if let Some(s) = Azurite::start() {
            azurite.push(s.startup);
        }
    }
    println!();
    println!("## Start-up of the auth tests' servers, median of {STARTS} ({})", load());
    println!();
    println!("| server | spawn to ready |");
    println!("| --- | --- |");
    for (name, v) in [
        ("SeaweedFS 4.48 (`weed server -s3`, bucket created)", &mut weed),
        ("oidc-provider 9.13.3 (node)", &mut oidc),
        ("Azurite 3.35.0 (node)", &mut azurite),
    ] {
        if !v.is_empty() {
            println!("| {name} | {} |", ms(v));
        }
    }
}
