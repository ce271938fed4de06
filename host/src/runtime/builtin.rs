//! The first-party probes, embedded in the binary by the build script.
//!
//! They are ordinary components and run in the same sandbox as dropped-in
//! plugins; a dropped-in plugin of the same source type replaces one.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// `(name, component bytes)` of every built-in probe; the name is the
/// probe crate's suffix (`sonde-probe-tcp` is "tcp").
pub fn all() -> &'static [(&'static str, &'static [u8])] {
    BUILTIN_PLUGINS
}

/// The bytes of the built-in probe called `name`, by its crate's suffix
/// or by the source type it reports: crate names cannot hold the `-` of
/// types such as `kafka-cloud`.
pub fn get(name: &str) -> Option<&'static [u8]> {
    let wanted = name.replace('-', "_");
    BUILTIN_PLUGINS.iter().find(|(n, _)| *n == wanted).map(|(_, b)| *b)
}
