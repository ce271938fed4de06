//! The pinned resolver: `wasi:sockets/ip-name-lookup` answered from the
//! addresses the host resolved for the check's declared endpoints.
//!
//! A guest may look up exactly the names it declared; any other name fails
//! as unresolvable, and no query ever leaves the host on a guest's behalf, so
//! DNS cannot be used to reach or signal anything undeclared.

use std::net::IpAddr;
use std::sync::Arc;

use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress};
use wasmtime_wasi::p2::{DynPollable, Network, Pollable, subscribe};

use super::Sandbox;

/// The WASI interface this module replaces; matches wasmtime-wasi's own
/// definition so that ours shadows it.
const INTERFACE: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// The answer to one lookup, handed out one address at a time: the grant's
/// own list (shared, never copied, so a guest holding many lookups costs
/// the host a pointer each) and how far the guest has read it.
pub struct PinnedLookup {
    ips: Arc<[IpAddr]>,
    next: usize,
}

#[async_trait::async_trait]
impl Pollable for PinnedLookup {
    // Answers are known before the call, so the stream is always ready.
    async fn ready(&mut self) {}
}

/// Replaces wasmtime-wasi's resolver in `linker` with the pinned one.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut inst = linker.instance(INTERFACE)?;
    inst.resource("resolve-address-stream", ResourceType::host::<PinnedLookup>(), |mut store, rep| {
        store.data_mut().table.delete(Resource::<PinnedLookup>::new_own(rep))?;
        Ok(())
    })?;
    inst.func_wrap("resolve-addresses", |mut store, (network, name): (Resource<Network>, String)| {
        let state = store.data_mut();
        // The network handle is the capability to resolve at all.
        state.table.get(&network)?;
        let answer = match state.net.lookup(&name) {
            Some(ips) if !ips.is_empty() => {
                let lookup = PinnedLookup { ips, next: 0 };
                Ok(state.table.push(lookup)?)
            }
            Some(_) => Err(ErrorCode::PermanentResolverFailure),
            None => Err(ErrorCode::NameUnresolvable),
        };
        Ok((answer,))
    })?;
    inst.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut store, (this,): (Resource<PinnedLookup>,)| {
            let lookup = store.data_mut().table.get_mut(&this)?;
            let ip = lookup.ips.get(lookup.next).copied();
            lookup.next += usize::from(ip.is_some());
            let next: Result<Option<IpAddress>, ErrorCode> = Ok(ip.map(Into::into));
            Ok((next,))
        },
    )?;
    inst.func_wrap(
        "[method]resolve-address-stream.subscribe",
        |mut store, (this,): (Resource<PinnedLookup>,)| {
            let pollable: Resource<DynPollable> = subscribe(&mut store.data_mut().table, this)?;
            Ok((pollable,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
