//! Sends one outgoing `wasi:http` request to addresses the host chose.
//!
//! wasmtime-wasi-http's `default_send_request` connects to the request's
//! authority *by name*, which resolves it a second time when the request is
//! sent: a DNS answer that changed since the host's own lookup (rebinding)
//! would reach an address the policy never allowed. This sender is handed
//! the addresses instead (the ones TCP is pinned to), tries them in order,
//! and uses the name only where it belongs: TLS verification and the `Host`
//! header (which wasmtime-wasi-http sets before the request gets here).
//!
//! Its errors are the same [`Error`] variants the default sender returns, so
//! the guest sees the same `wasi:http` error codes and probes keep their
//! messages. Each connection attempt also takes a socket and a connect from
//! the check's budget: a `wasi:http` connection costs the host a descriptor
//! like any socket.
//!
//! The TLS client configuration is a parameter, never a global: the caller
//! builds it from the source's `tls` policy, and the handshake is recorded
//! in the check's [`Session`] beside those the guest starts itself.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::runtime::sandbox::net::NetPolicy;
use crate::runtime::sandbox::tls::Session;

/// Where one request goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The host's addresses for the declared name, in the order to try.
    pub addrs: Vec<SocketAddr>,
    /// The name as the guest wrote it (no brackets): what TLS verifies.
    pub host: String,
    /// Whether to speak TLS (an `https` URI).
    pub tls: bool,
}

/// What the connection must still do after the response head arrived; the
/// caller drives it (wasmtime-wasi-http spawns it) while the body is read.
pub type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// A byte stream, plain or TLS, that hyper can speak HTTP/1.1 over.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Sends `request` to `target`; `options` are already clamped to the
/// check's deadline.
pub async fn send(
    mut request: http::Request<WasiBody>,
    target: Target,
    net: Arc<NetPolicy>,
    tls: Option<(Arc<rustls::ClientConfig>, Arc<Session>)>,
    options: RequestOptions,
) -> Result<(http::Response<WasiBody>, Io), Error> {
    let connect_timeout = options.connect_timeout.unwrap_or(Duration::MAX);
    let first_byte_timeout = options.first_byte_timeout.unwrap_or(Duration::MAX);
    let between_bytes_timeout = options.between_bytes_timeout.unwrap_or(Duration::MAX);

    let tcp = tokio::time::timeout(connect_timeout, connect(&target.addrs, &net))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let stream: Box<dyn Stream> = match (target.tls, tls) {
        (true, Some((config, session))) => {
            // The config's `tls.server_name` wins over the URL's host, as
            // for a guest's own handshake. Its default, the config's `host`,
            // does not: that key names a guest's socket peer, and an HTTP
            // probe's may be a whole URL (Databricks' workspace `host`).
            let policy = session.policy();
            let given = policy.server_name.clone().filter(|_| policy.server_name_given);
            let name = given.unwrap_or_else(|| target.host.clone());
            let name = ServerName::try_from(name)?;
            let result = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await;
            session.record_host_handshake(result.as_ref().map(|s| s.get_ref().1));
            Box::new(result.map_err(Error::Tls)?)
        }
        (true, None) => return Err(Error::Tls(io::Error::other("no TLS configuration for an https URL"))),
        (false, _) => Box::new(tcp),
    };
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake::<_, WasiBody>(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // The request carries scheme and authority, but an origin server wants
    // only the path on the request line (the full URI is for proxies).
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() =
        http::Uri::builder().path_and_query(path).build().map_err(|_| Error::HttpRequestUriInvalid)?;

    // The response head only arrives while the connection is driven, so
    // both are polled until the head is in; the rest of the connection is
    // handed back to run beside the body.
    let mut conn = Box::pin(conn);
    let mut conn_done = false;
    let response = async {
        tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)
    };
    tokio::pin!(response);
    let response = loop {
        tokio::select! {
            response = &mut response => break response?,
            done = &mut conn, if !conn_done => {
                done?;
                conn_done = true;
            }
        }
    };

    let io: Io = Box::new(async move {
        if conn_done {
            return Ok(());
        }
        conn.await.map_err(|e| if e.is_timeout() { Error::HttpResponseTimeout } else { Error::from(e) })
    });
    let response = response.map(|incoming| TimedBody::new(incoming, between_bytes_timeout).boxed_unsync());
    Ok((response, io))
}

/// Connects to the first address that answers, charging each attempt to
/// the check's socket budget.
async fn connect(addrs: &[SocketAddr], net: &NetPolicy) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in addrs {
        // Every address is one the policy allows, so a refusal here is the
        // budget running out.
        if !net.admit_new_socket() || !net.check(*addr, SocketAddrUse::TcpConnect) {
            return Err(Error::ConnectionLimitReached);
        }
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    // No address at all reads as a failed lookup, as it would by name.
    Err(Error::Connect(
        last.unwrap_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to connect to")),
    ))
}

/// A response body that fails when no frame arrives for `gap`.
struct TimedBody {
    incoming: Incoming,
    gap: Duration,
    idle: Pin<Box<Sleep>>,
}

impl TimedBody {
    fn new(incoming: Incoming, gap: Duration) -> Self {
        Self { incoming, gap, idle: Box::pin(tokio::time::sleep_until(deadline_after(gap))) }
    }
}

/// `now + gap`, saturating: an unset timeout is `Duration::MAX`.
fn deadline_after(gap: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(gap).unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = deadline_after(self.gap);
                self.idle.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let e = if e.is_timeout() { Error::HttpResponseTimeout } else { Error::from(e) };
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

/// The TLS client of the default sender: the web PKI roots, verified
/// against the request's name, ring as the provider (the one
/// wasmtime-wasi-http is built with).
pub fn webpki_client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    client_config_trusting(&[])
}

/// [`webpki_client_config`] trusting `extra` CAs too (the operator's
/// `[tls] ca_files`, for the host's token requests).
pub fn client_config_trusting(
    extra: &[rustls::pki_types::TrustAnchor<'static>],
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    roots.roots.extend(extra.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    //! The sender against real loopback servers, plain and TLS. The TLS
    //! server presents `testdata/localhost.pem` (for the name `localhost`,
    //! signed by `testdata/ca.pem`, valid until 2126).

    use http_body_util::{BodyExt, Empty};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::bindings::Endpoint;
    use crate::runtime::sandbox::net::{Grant, SocketCaps};
    use crate::runtime::sandbox::resolver::SystemResolver;

    const CA: &[u8] = include_bytes!("testdata/ca.pem");
    const CERT: &[u8] = include_bytes!("testdata/localhost.pem");
    const KEY: &[u8] = include_bytes!("testdata/localhost.key");

    fn ring() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn trusting_the_test_ca() -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(CA).expect("ca pem")).expect("ca");
        let config = rustls::ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }

    /// Answers every connection with `200 ok`, over TLS when `tls`.
    async fn server(ip: &str, tls: bool) -> SocketAddr {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let acceptor = tls.then(|| {
            let chain = vec![CertificateDer::from_pem_slice(CERT).expect("cert pem")];
            let key = PrivateKeyDer::from_pem_slice(KEY).expect("key pem");
            let config = rustls::ServerConfig::builder_with_provider(ring())
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("server config");
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let stream: Box<dyn Stream> = match acceptor {
                        Some(a) => match a.accept(tcp).await {
                            Ok(s) => Box::new(s),
                            Err(_) => return,
                        },
                        None => Box::new(tcp),
                    };
                    answer(stream).await;
                });
            }
        });
        addr
    }

    async fn answer(mut stream: Box<dyn Stream>) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        let _ = stream.write_all(reply).await;
        let _ = stream.shutdown().await;
    }

    async fn policy(endpoints: &[SocketAddr], max_new_sockets: usize) -> Arc<NetPolicy> {
        let eps: Vec<Endpoint> =
            endpoints.iter().map(|a| Endpoint { host: a.ip().to_string(), port: a.port() }).collect();
        let caps = SocketCaps { max_connects: 16, max_new_sockets };
        Arc::new(NetPolicy::allowing(
            Grant::resolve(&eps, &Arc::default(), caps, &SystemResolver).await.expect("policy"),
        ))
    }

    fn get(url: &str) -> http::Request<WasiBody> {
        let body = Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync();
        http::Request::builder().uri(url).body(body).expect("request")
    }

    fn timeouts() -> RequestOptions {
        let five = Some(Duration::from_secs(5));
        RequestOptions { connect_timeout: five, first_byte_timeout: five, between_bytes_timeout: five }
    }

    /// Sends GET / to `target` and returns the status and body.
    async fn fetch(
        target: Target,
        net: Arc<NetPolicy>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<(u16, Bytes), Error> {
        let scheme = if target.tls { "https" } else { "http" };
        let url = format!("{scheme}://{}:{}/", target.host, target.addrs[0].port());
        let session = Arc::new(crate::runtime::sandbox::tls::Session::disabled());
        let (response, io) = send(get(&url), target, net, Some((tls, session)), timeouts()).await?;
        tokio::spawn(Box::into_pin(io));
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    #[tokio::test]
    async fn https_is_verified_against_the_name_at_the_pinned_address() {
        let addr = server("127.0.0.2", true).await;
        let net = policy(&[addr], 16).await;
        let target = Target { addrs: vec![addr], host: "localhost".into(), tls: true };
        let (status, body) = fetch(target, Arc::clone(&net), trusting_the_test_ca()).await.expect("sent");
        assert_eq!((status, &body[..]), (200, &b"ok"[..]));

        // The certificate is for `localhost`; any other name fails, whatever
        // the address.
        let target = Target { addrs: vec![addr], host: "example.com".into(), tls: true };
        let err = fetch(target, Arc::clone(&net), trusting_the_test_ca()).await.expect_err("mismatch");
        assert!(matches!(&err, Error::Tls(e) if format!("{e:?}").contains("NotValidForName")), "{err:?}");

        // The web PKI roots do not know the test CA.
        let webpki = Arc::new(webpki_client_config().expect("config"));
        let target = Target { addrs: vec![addr], host: "localhost".into(), tls: true };
        let err = fetch(target, net, webpki).await.expect_err("untrusted");
        assert!(matches!(&err, Error::Tls(e) if format!("{e:?}").contains("UnknownIssuer")), "{err:?}");
    }

    #[tokio::test]
    async fn addresses_are_tried_in_order_each_from_the_budget() {
        let live = server("127.0.0.1", false).await;
        // The same port on another loopback address, where nothing listens.
        let dead = SocketAddr::from(([127, 0, 0, 3], live.port()));
        let tls = Arc::new(webpki_client_config().expect("config"));

        let net = policy(&[dead, live], 2).await;
        let target = Target { addrs: vec![dead, live], host: "127.0.0.1".into(), tls: false };
        let (status, _) =
            fetch(target.clone(), Arc::clone(&net), Arc::clone(&tls)).await.expect("second address");
        assert_eq!(status, 200);
        // Both attempts were charged: nothing is left for a third.
        let err = fetch(target, net, tls).await.expect_err("budget spent");
        assert!(matches!(err, Error::ConnectionLimitReached), "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_connect_is_a_connect_error() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        let net = policy(&[dead], 16).await;
        let tls = Arc::new(webpki_client_config().expect("config"));
        let target = Target { addrs: vec![dead], host: "127.0.0.1".into(), tls: false };
        let err = fetch(target, net, tls).await.expect_err("refused");
        assert!(matches!(&err, Error::Connect(e) if e.kind() == io::ErrorKind::ConnectionRefused), "{err:?}");
    }
}
