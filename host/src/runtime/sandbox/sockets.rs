//! The socket budget: `wasi:sockets/tcp-create-socket` and
//! `udp-create-socket`, counted per check.
//!
//! A socket costs the host a file descriptor the moment it is created, long
//! before any connect the socket check could refuse: a guest creating
//! sockets in a loop once held every descriptor the process had. These
//! shadows take one socket from the check's budget
//! ([`NetPolicy::admit_new_socket`](super::net::NetPolicy::admit_new_socket))
//! and only then hand over to wasmtime-wasi's own implementation; past the
//! budget the guest gets `new-socket-limit`, the code WASI defines for it
//! (Rust's std reports it as `EMFILE`), and no descriptor is made.
//!
//! UDP is disabled (`allow_udp(false)`): wasmtime-wasi refuses it before
//! creating a descriptor, so a UDP attempt costs nothing, but it is counted
//! all the same, so the budget holds if UDP is ever allowed.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::{tcp_create_socket, udp_create_socket};
use wasmtime_wasi::p2::{SocketError, TcpSocket, UdpSocket};
use wasmtime_wasi::sockets::WasiSocketsView;

use super::Sandbox;

/// The WASI interfaces this module replaces; they match wasmtime-wasi's own
/// definitions so that ours shadow them.
const TCP_INTERFACE: &str = "wasi:sockets/tcp-create-socket@0.2.12";
const UDP_INTERFACE: &str = "wasi:sockets/udp-create-socket@0.2.12";

/// A socket error as the guest sees it; anything that is not an error code
/// (a full handle table) stays a trap.
fn to_guest<T>(result: Result<T, SocketError>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) => Ok(Err(e.downcast()?)),
    }
}

/// Replaces wasmtime-wasi's socket constructors in `linker` with counted ones.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(TCP_INTERFACE)?.func_wrap(
        "create-tcp-socket",
        |mut store, (family,): (IpAddressFamily,)| {
            if !store.data().net.admit_new_socket() {
                return Ok((Err(ErrorCode::NewSocketLimit),));
            }
            let mut view = store.data_mut().sockets();
            let socket: Result<Resource<TcpSocket>, _> =
                tcp_create_socket::Host::create_tcp_socket(&mut view, family);
            Ok((to_guest(socket)?,))
        },
    )?;
    linker.instance(UDP_INTERFACE)?.func_wrap_async(
        "create-udp-socket",
        |mut store, (family,): (IpAddressFamily,)| {
            Box::new(async move {
                if !store.data().net.admit_new_socket() {
                    return Ok((Err(ErrorCode::NewSocketLimit),));
                }
                let mut view = store.data_mut().sockets();
                let socket: Result<Resource<UdpSocket>, _> =
                    udp_create_socket::Host::create_udp_socket(&mut view, family).await;
                Ok((to_guest(socket)?,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
