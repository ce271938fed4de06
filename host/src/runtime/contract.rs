//! The probe contract versions this host speaks, behind one interface.
//!
//! Each supported `sonde:probe` version is one [`Contract`] variant holding
//! that version's pre-instantiated bindings, and converting its answers to
//! the host's own types (today those of 0.1). When `sonde:probe@0.2` ships,
//! it gets its own bindings module and variant here, and 0.1 plugins keep
//! loading unchanged: a plugin is matched to a variant by the version of the
//! `sonde:probe/probe` instance it exports.

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use super::plugin::LoadError;
use super::sandbox::Sandbox;
use crate::bindings::{CheckError, Endpoint, Healthy, PluginPre, ProbeInfo};

/// `(major.minor, package)` of every contract version the host supports.
pub const SUPPORTED: &[(&str, &str)] = &[("0.1", crate::bindings::WIT_PACKAGE)];

/// A plugin's entry points, for the contract version it was built against.
#[derive(Clone)]
pub enum Contract {
    V0_1(PluginPre<Sandbox>),
}

impl Contract {
    /// Links `component`, which exports `sonde:probe/probe@{version}`.
    pub fn link(linker: &Linker<Sandbox>, component: &Component, version: &str) -> Result<Self, LoadError> {
        let wrong_world = |e: wasmtime::Error| LoadError::WrongWorld(format!("{e:#}"));
        match series(version) {
            Some("0.1") => {
                let pre = linker.instantiate_pre(component).map_err(wrong_world)?;
                Ok(Contract::V0_1(PluginPre::new(pre).map_err(wrong_world)?))
            }
            _ => Err(LoadError::IncompatibleVersion {
                found: format!("sonde:probe@{version}"),
                supported: SUPPORTED.iter().map(|(_, p)| *p).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    pub async fn info(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<ProbeInfo> {
        match self {
            Contract::V0_1(pre) => {
                let p = pre.instantiate_async(&mut *store).await?;
                p.sonde_probe_probe().call_info(&mut *store).await
            }
        }
    }

    pub async fn endpoints(
        &self,
        store: &mut Store<Sandbox>,
        config: &str,
    ) -> wasmtime::Result<Result<Vec<Endpoint>, String>> {
        match self {
            Contract::V0_1(pre) => {
                let p = pre.instantiate_async(&mut *store).await?;
                p.sonde_probe_probe().call_endpoints(&mut *store, config).await
            }
        }
    }

    pub async fn check(
        &self,
        store: &mut Store<Sandbox>,
        config: &str,
    ) -> wasmtime::Result<Result<Healthy, CheckError>> {
        match self {
            Contract::V0_1(pre) => {
                let p = pre.instantiate_async(&mut *store).await?;
                p.sonde_probe_probe().call_check(&mut *store, config).await
            }
        }
    }
}

/// The supported series (`"0.1"`) a version belongs to, by the component
/// model's semver rule: same major, or for 0.x the same minor.
pub fn series(version: &str) -> Option<&'static str> {
    let parts: Vec<&str> = version.split('.').collect();
    let key = match parts.as_slice() {
        ["0", minor, ..] => format!("0.{minor}"),
        [major, ..] => (*major).to_string(),
        [] => return None,
    };
    SUPPORTED.iter().map(|(s, _)| *s).find(|s| *s == key)
}

#[cfg(test)]
mod tests {
    use super::series;

    #[test]
    fn versions_map_to_supported_series() {
        assert_eq!(series("0.1.0"), Some("0.1"));
        assert_eq!(series("0.1.7"), Some("0.1"));
        assert_eq!(series("0.2.0"), None);
        assert_eq!(series("1.0.0"), None);
        assert_eq!(series("x"), None);
    }
}
