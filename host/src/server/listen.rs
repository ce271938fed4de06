//! Serving the router over TCP with bounds on what one client can hold
//! (DESIGN §5, `[server]`):
//!
//! - **Headers in time.** A new connection's first request head must be
//!   complete within `header_timeout`; a later request's, within
//!   `header_timeout` of its first byte. Half a request line never holds a
//!   connection longer than that.
//! - **Idle keep-alive connections close** after `idle_timeout` between
//!   requests. While a request is being answered nothing is timed here (the
//!   routes bound their own work).
//! - **A connection cap.** At most `max_connections` are open; past it the
//!   server stops accepting, so new connections wait in the kernel's listen
//!   backlog and are served as others close (each slow client is gone
//!   within `header_timeout`). Waiting rather than refusing means a real
//!   client caught in a flood is late, not failed.
//!
//! With `tls_cert_file` and `tls_key_file` every connection is HTTPS
//! (rustls, HTTP/1.1). The handshake counts toward the first head's
//! `header_timeout`, so a client that never sends a ClientHello is dropped
//! as one that never sends a request line; the bounds above watch the
//! decrypted stream.
//!
//! hyper's own `header_read_timeout` is not used: it restarts as soon as a
//! response is written, so it would also close idle keep-alive connections
//! after `header_timeout`, whatever `idle_timeout` says. A small watchdog per
//! connection keeps the two apart instead: reads seen by [`Watched`], and
//! requests begun and ended (the response body dropped) by the service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// How long a shutdown waits for requests in flight before leaving anyway.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` (HTTPS under `tls`, from
/// `Config::server_tls`) until `shutdown` resolves, then lets requests in
/// flight finish (up to [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ServerConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let tls = tls.map(TlsAcceptor::from);
    let max = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    let config = Arc::new(config);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, config, stopped, tls) = (app.clone(), Arc::clone(&config), stopped.clone(), tls.clone());
        tokio::spawn(async move {
            connection(stream, peer, app, &config, tls, stopped).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, slots.acquire_many(all)).await.is_err() {
        tracing::warn!("requests still running after {}s; leaving them", DRAIN.as_secs());
    }
}

/// Errors of one connection (reset before it was accepted) are the peer's
/// business; others (out of file descriptors) are waited out, as hyper's
/// and axum's servers do, rather than spun on.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection, until it ends, times out or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    config: &ServerConfig,
    tls: Option<TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let Some(tls) = tls else {
        return http(stream, peer, app, config, activity, stopped).await;
    };
    // The handshake ends by the first head's deadline, from the
    // connection's start; what is left of it is the head's.
    let handshake = tokio::time::timeout_at(activity.opened + config.header_timeout, tls.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "no TLS handshake within header_timeout");
                return;
            }
        },
        // No request has begun: nothing to drain.
        _ = stopped.changed() => return,
    };
    http(stream, peer, app, config, activity, stopped).await;
}

/// HTTP/1.1 on `stream` (the socket, or TLS over it), under the watchdog
/// of `activity`.
async fn http<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    config: &ServerConfig,
    activity: Arc<Activity>,
    mut stopped: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Watched { inner: stream, activity: Arc::clone(&activity) });
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let answering = Answering::begin(Arc::clone(&requests));
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let response = match app.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // The request counts as answered once hyper drops the body,
            // that is once it is written (or the peer is gone).
            Ok::<_, Infallible>(response.map(|body| {
                axum::body::Body::new(body.map_err(move |e| {
                    let _ = &answering;
                    e
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let expired = activity.expired(config.header_timeout, config.idle_timeout);
    let mut expired = std::pin::pin!(expired);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            // Dropping the connection closes the socket.
            () = &mut expired => return,
            _ = stopped.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// No instant yet.
const NONE: u64 = u64::MAX;

/// What the watchdog of one connection needs to know, in milliseconds since
/// it opened.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Whether any request has begun (the first one's head is timed from
    /// the connection's start).
    served: AtomicBool,
    /// When the last request was answered.
    idle_since: AtomicU64,
    /// The first byte read while no request was in flight: a head began.
    head_since: AtomicU64,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NONE),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.compare_exchange(NONE, self.now(), Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// When the connection must close if nothing changes; `None` while a
    /// request is in flight.
    fn deadline(&self, header: Duration, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let at = |ms: u64, plus: Duration| self.opened + Duration::from_millis(ms) + plus;
        if !self.served.load(Ordering::Acquire) {
            // The first head is timed from the connection's start, however
            // late its first byte came.
            return Some(at(0, header));
        }
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some(at(self.idle_since.load(Ordering::Acquire), idle)),
            head => Some(at(head, header)),
        }
    }

    /// Resolves when the connection has overstayed: a head not complete in
    /// time, or idle too long.
    async fn expired(&self, header: Duration, idle: Duration) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(header, idle) {
                None => changed.await,
                Some(at) if at <= Instant::now() => return,
                Some(at) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }
}

/// A request being answered, from its complete head to its response
/// written.
struct Answering(Arc<Activity>);

impl Answering {
    fn begin(activity: Arc<Activity>) -> Self {
        activity.served.store(true, Ordering::Release);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(NONE, Ordering::Release);
        activity.changed.notify_one();
        Self(activity)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now(), Ordering::Release);
        a.head_since.store(NONE, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
        a.changed.notify_one();
    }
}

/// The stream (under TLS, the decrypted one), noting each read for the
/// watchdog.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
