//! The `uri` key: a MongoDB connection string (`mongodb://user:pass@h1:p1,
//! h2:p2/db?authSource=…&tls=true`), parsed by hand because `url` knows
//! no host lists. User and password are percent-decoded.
//!
//! The uri holds the password, so no error here quotes any part of it:
//! they name the option or the part that is wrong, never its value.

/// MongoDB's default port.
pub const DEFAULT_PORT: u16 = 27017;

/// What a connection string says, as far as a probe needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    pub hosts: Vec<(String, u16)>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The path's database: `authSource`'s default.
    pub database: Option<String>,
    pub auth_source: Option<String>,
    pub auth_mechanism: Option<String>,
    /// `tls` or `ssl`, when given.
    pub tls: Option<bool>,
    /// `tlsInsecure` or `tlsAllowInvalidCertificates`: skip verification.
    pub tls_insecure: bool,
}

impl Uri {
    /// The database credentials are checked against: `authSource`, else the
    /// path's database, else `admin`.
    pub fn auth_db(&self) -> &str {
        self.auth_source.as_deref().or(self.database.as_deref()).unwrap_or("admin")
    }
}

/// The message for `mongodb+srv://`, which names its hosts in DNS.
pub const SRV: &str =
    "mongodb+srv needs SRV and TXT lookups, which a probe cannot make: give the hosts as mongodb://…";

/// Options that name files on the machine of a driver; the probe has none.
const FILE_OPTIONS: &[(&str, &str)] = &[
    ("tlscafile", "tls.ca (the PEM itself)"),
    ("tlscertificatekeyfile", "tls.client_cert and tls.client_key"),
    ("tlscertificatekeyfilepassword", "tls.client_key without a passphrase"),
    ("sslca", "tls.ca (the PEM itself)"),
    ("sslpemkeyfile", "tls.client_cert and tls.client_key"),
];

pub fn parse(text: &str) -> Result<Uri, String> {
    let rest = if let Some(rest) = text.strip_prefix("mongodb://") {
        rest
    } else if text.starts_with("mongodb+srv://") {
        return Err(SRV.into());
    } else {
        return Err("uri must start with mongodb://".into());
    };
    // The user info ends at the last `@` before the options; the password
    // may hold `/` (drivers accept it), never an unescaped `@` or `?`.
    let before_query = rest.find('?').unwrap_or(rest.len());
    let (userinfo, rest) = match rest.get(..before_query).and_then(|r| r.rfind('@')) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut uri = Uri::default();
    if let Some(info) = userinfo {
        let (user, password) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        let user = decode(user).ok_or("the uri's user is not valid percent-encoding")?;
        if user.is_empty() {
            return Err("the uri's user is empty".into());
        }
        uri.user = Some(user);
        uri.password = password
            .map(|p| decode(p).ok_or("the uri's password is not valid percent-encoding"))
            .transpose()?;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (hosts, rest) = rest.split_at(end);
    uri.hosts = hosts.split(',').map(host).collect::<Result<_, _>>()?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !path.is_empty() {
        uri.database = Some(decode(path).ok_or("the uri's database is not valid percent-encoding")?);
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or("a uri option has no `=`")?;
        let value = decode(value).ok_or_else(|| format!("uri option {key} is not valid percent-encoding"))?;
        let lower = key.to_ascii_lowercase();
        if let Some((_, instead)) = FILE_OPTIONS.iter().find(|(k, _)| *k == lower) {
            return Err(format!("uri option {key} names a file, which a probe cannot read: give {instead}"));
        }
        match lower.as_str() {
            "authsource" => uri.auth_source = Some(value),
            "authmechanism" => uri.auth_mechanism = Some(value),
            "tls" | "ssl" => {
                let on = boolean(key, &value)?;
                if uri.tls.is_some_and(|t| t != on) {
                    return Err("uri options tls and ssl disagree".into());
                }
                uri.tls = Some(on);
            }
            "tlsinsecure" | "tlsallowinvalidcertificates" => uri.tls_insecure |= boolean(key, &value)?,
            // Topology, pools, timeouts, write concerns: a driver's business,
            // the same for one health check whatever they say.
            _ => {}
        }
    }
    Ok(uri)
}

/// One `host[:port]` of the host list; an IPv6 address is bracketed.
fn host(text: &str) -> Result<(String, u16), String> {
    let text = decode(text).ok_or("a host of the uri is not valid percent-encoding")?;
    if text.ends_with(".sock") || text.starts_with('/') {
        return Err("the uri names a Unix socket, which a probe cannot reach: give host:port".into());
    }
    let (name, port) = if let Some(v6) = text.strip_prefix('[') {
        let (name, after) = v6.split_once(']').ok_or("a bracketed host of the uri is not closed")?;
        (name, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text.as_str(), None),
        }
    };
    if name.is_empty() {
        return Err("the uri names an empty host".into());
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse().ok().filter(|&p| p > 0).ok_or("a port of the uri is not 1 to 65535")?,
    };
    Ok((name.to_string(), port))
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("uri option {key} must be true or false")),
    }
}

/// Percent-decoding into UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_uri_is_read_and_its_password_decoded() {
        let uri = parse(
            "mongodb://app%40x:p%3Aw%2Fd@db1:27018,[::1]:27019,db3/sales?authSource=admin&TLS=true&w=1",
        )
        .expect("parses");
        assert_eq!(
            uri.hosts,
            vec![("db1".into(), 27018), ("::1".into(), 27019), ("db3".into(), DEFAULT_PORT)]
        );
        assert_eq!((uri.user.as_deref(), uri.password.as_deref()), (Some("app@x"), Some("p:w/d")));
        assert_eq!((uri.database.as_deref(), uri.auth_db(), uri.tls), (Some("sales"), "admin", Some(true)));
    }

    #[test]
    fn the_auth_database_defaults_to_the_path_then_admin() {
        assert_eq!(parse("mongodb://u:p@h/app").expect("ok").auth_db(), "app");
        assert_eq!(parse("mongodb://u:p@h").expect("ok").auth_db(), "admin");
        let bare = parse("mongodb://h:1/?ssl=false").expect("ok");
        assert_eq!((bare.user, bare.password, bare.tls), (None, None, Some(false)));
        assert_eq!(parse("mongodb://u@h").expect("ok").password, None);
        // An unescaped `/` in the password is read as drivers read it.
        assert_eq!(parse("mongodb://u:a/b@h/d").expect("ok").password.as_deref(), Some("a/b"));
    }

    #[test]
    fn what_a_probe_cannot_use_is_refused_without_quoting_the_uri() {
        assert_eq!(parse("mongodb+srv://u:secret@cluster.example.net/").expect_err("srv"), SRV);
        for bad in [
            "postgres://u:secret@h",
            "mongodb://u:secret@",
            "mongodb://u:secret@h:0",
            "mongodb://u:secret@h:99999",
            "mongodb://u:secret@%2Ftmp%2Fmongodb-27017.sock",
            "mongodb://u:secret@h/?tls=yes",
            "mongodb://u:secret@h/?tls=true&ssl=false",
            "mongodb://u:secret@h/?tlsCAFile=/etc/ca.pem",
            "mongodb://u:sec%ZZret@h",
            "mongodb://:secret@h",
            "mongodb://u:secret@[::1",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(!e.contains("secret") && !e.contains("sec"), "{bad}: {e}");
        }
    }
}
