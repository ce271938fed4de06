//! The probe contract versions this host speaks, behind one interface.
//!
//! Each supported `sonde:probe` version is one [`Contract`] variant holding
//! that version's pre-instantiated bindings, and converting its answers to
//! the host's own types (those of 0.1). A plugin is matched to a variant by
//! the version of the `sonde:probe/probe` instance it exports, so 0.1
//! plugins keep loading unchanged beside 0.2 ones (which may also import
//! `wasi:tls`). A later version adds a variant; none is ever removed.

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use super::plugin::LoadError;
use super::sandbox::Sandbox;
use crate::bindings::v0_2;
use crate::bindings::{CheckError, Endpoint, Healthy, Plugin, PluginPre, ProbeInfo, Problem};

/// `(major.minor, package)` of every contract version the host supports.
pub const SUPPORTED: &[(&str, &str)] = &[("0.1", crate::bindings::WIT_PACKAGE), ("0.2", v0_2::WIT_PACKAGE)];

/// A plugin's entry points, for the contract version it was built against.
#[derive(Clone)]
pub enum Contract {
    V0_1(PluginPre<Sandbox>),
    V0_2(v0_2::PluginPre<Sandbox>),
}

impl Contract {
    /// Links `component`, which exports `sonde:probe/probe@{version}`.
    pub fn link(linker: &Linker<Sandbox>, component: &Component, version: &str) -> Result<Self, LoadError> {
        let wrong_world = |e: wasmtime::Error| LoadError::WrongWorld(format!("{e:#}"));
        if series(version).is_some() {
            super::plugin::check_probe_exports(component, version)?;
        }
        match series(version) {
            Some("0.1") => {
                let pre = linker.instantiate_pre(component).map_err(wrong_world)?;
                Ok(Contract::V0_1(PluginPre::new(pre).map_err(wrong_world)?))
            }
            Some("0.2") => {
                let pre = linker.instantiate_pre(component).map_err(wrong_world)?;
                Ok(Contract::V0_2(v0_2::PluginPre::new(pre).map_err(wrong_world)?))
            }
            _ => Err(LoadError::IncompatibleVersion {
                found: format!("sonde:probe@{version}"),
                supported: SUPPORTED.iter().map(|(_, p)| *p).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// A fresh instance in `store`: the one instance of a call or a check.
    pub async fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Contract::V0_1(pre) => Instance::V0_1(pre.instantiate_async(&mut *store).await?),
            Contract::V0_2(pre) => Instance::V0_2(pre.instantiate_async(&mut *store).await?),
        })
    }

    /// Whether plugins of this version may use `wasi:tls`.
    pub fn has_tls(&self) -> bool {
        matches!(self, Contract::V0_2(_))
    }
}

/// An instantiated plugin, for the contract version it was built against.
pub enum Instance {
    V0_1(Plugin),
    V0_2(v0_2::Plugin),
}

impl Instance {
    pub async fn info(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<ProbeInfo> {
        match self {
            Instance::V0_1(p) => p.sonde_probe_probe().call_info(&mut *store).await,
            Instance::V0_2(p) => {
                let i = p.sonde_probe_probe().call_info(&mut *store).await?;
                Ok(ProbeInfo {
                    source_type: i.source_type,
                    version: i.version,
                    description: i.description,
                    config_schema: i.config_schema,
                })
            }
        }
    }

    pub async fn endpoints(
        &self,
        store: &mut Store<Sandbox>,
        config: &str,
    ) -> wasmtime::Result<Result<Vec<Endpoint>, String>> {
        match self {
            Instance::V0_1(p) => p.sonde_probe_probe().call_endpoints(&mut *store, config).await,
            Instance::V0_2(p) => {
                let eps = p.sonde_probe_probe().call_endpoints(&mut *store, config).await?;
                Ok(eps.map(|eps| eps.into_iter().map(|e| Endpoint { host: e.host, port: e.port }).collect()))
            }
        }
    }

    pub async fn check(
        &self,
        store: &mut Store<Sandbox>,
        config: &str,
    ) -> wasmtime::Result<Result<Healthy, CheckError>> {
        match self {
            Instance::V0_1(p) => p.sonde_probe_probe().call_check(&mut *store, config).await,
            Instance::V0_2(p) => {
                use v0_2::sonde::probe::types as v2;
                let r = p.sonde_probe_probe().call_check(&mut *store, config).await?;
                Ok(match r {
                    Ok(h) => Ok(Healthy { details: h.details, items: h.items }),
                    Err(v2::CheckError::InvalidConfig(m)) => Err(CheckError::InvalidConfig(m)),
                    Err(v2::CheckError::Unhealthy(p)) => {
                        Err(CheckError::Unhealthy(Problem { message: p.message, extra: p.extra }))
                    }
                })
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
        assert_eq!(series("0.2.0"), Some("0.2"));
        assert_eq!(series("0.3.0"), None);
        assert_eq!(series("1.0.0"), None);
        assert_eq!(series("x"), None);
    }
}
