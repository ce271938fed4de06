//! The base URL a probe reaches. It is the auth target (COMMON.md): the host
//! attaches credentials only to its scheme, host and port, so every
//! authenticated request is built under it here, and it is the one endpoint
//! the probe declares.

use sonde_sdk::Endpoint;
use url::Url;

/// `raw` as a base URL: `https` (or `http` to loopback, for a local test
/// server), with a host and without credentials, query or fragment. `what`
/// names the config key in the message.
pub fn base(raw: &str, what: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{what} is not a valid URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err(format!("{what} has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => return Err(format!("{what} must be an https URL, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{what} must not have a query or fragment"));
    }
    Ok(url)
}

/// The endpoint (host and port) of a URL, as the sandbox knows it.
pub use sonde_sdk::api::endpoint_of_url as endpoint;
/// One path segment (or query value), escaped for [`at`].
pub use sonde_sdk::api::escape;

/// The one endpoint a probe declares: its base URL's, `raw` read as
/// [`base`] reads it.
pub fn endpoints(raw: &str, what: &str) -> Result<Vec<Endpoint>, String> {
    Ok(vec![endpoint(&base(raw, what)?)?])
}

/// `base` with `segments` appended to its path, each escaped (a space, `/`
/// or `?` in a name stays inside its segment), and `query` pairs encoded.
pub fn join(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// `base` with a path that is written as the vendor documents it, such as
/// Microsoft Graph's `/sites/{host}:/{path}` or Google Drive's
/// `/drive/v3/about`: the caller escapes any configured part itself
/// ([`escape`]).
pub fn at(base: &Url, path_and_query: &str) -> Result<Url, String> {
    base.join(path_and_query).map_err(|e| format!("cannot build a URL from {path_and_query:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_takes_https_and_loopback_http_only() {
        assert!(base("https://graph.microsoft.com", "url").is_ok());
        assert!(base("http://127.0.0.1:8080", "url").is_ok());
        assert!(base("http://example.com", "url").expect_err("refused").contains("https"));
        assert!(base("https://u:p@example.com", "url").expect_err("refused").contains("credentials"));
        assert!(base("https://example.com/?a=b", "url").expect_err("refused").contains("query"));
        assert!(base("not a url", "url").expect_err("refused").starts_with("url is not"));
    }

    #[test]
    fn join_escapes_each_segment() {
        let b = base("https://h.example/api/", "url").expect("as documented");
        let u = join(&b, &["a b", "c/d"], &[("q", "x y")]);
        assert_eq!(u.as_str(), "https://h.example/api/a%20b/c%2Fd?q=x+y");
        assert_eq!(endpoint(&u).expect("as documented"), Endpoint::new("h.example", 443));
        assert_eq!(escape("a b/c@d"), "a%20b%2Fc%40d");
    }
}
