//! A private `clickhouse-server` (Debian's, 18.16) for the clickhouse
//! probe's tests: its own config.xml and users.xml in a temp dir, data under
//! it, one HTTP or HTTPS port on 127.0.0.1 and no other listener (no
//! `tcp_port`, `interserver_http_port` or `mysql_port`: absent means off),
//! and two users with generated passwords.
//!
//! The server's time zone is Asia/Kolkata (+05:30, no DST) on purpose: a
//! `DateTime` prints in it, so a probe that read one as UTC would be 5.5 h
//! off and a stale row would pass.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::certs::Pair;
use crate::spawned::Spawned;

const PROGRAM: &str = "/usr/sbin/clickhouse-server";
/// The server's `<timezone>`.
pub const TIMEZONE: &str = "Asia/Kolkata";

/// A private server on a free loopback port.
pub struct ClickHouse {
    pub port: u16,
    /// `default`'s password (empty on a TLS server).
    pub password: String,
    /// A second user, `sonde`, and its password.
    pub user: String,
    pub user_password: String,
    /// How long from spawn to answering.
    pub started_in: Duration,
    _process: Spawned,
}

impl ClickHouse {
    /// Plain HTTP on `port`, ready when `/ping` answers. None (skip) when
    /// clickhouse-server is not installed, outside CI.
    pub fn start() -> Option<Self> {
        let started = Instant::now();
        let mut server = Self::spawn("http_port", "", true)?;
        server.wait_ping();
        server.started_in = started.elapsed();
        Some(server)
    }

    /// HTTPS only on `port`, with `pair` as its certificate, and `default`
    /// without a password; with
    /// `demand_client_cert`, only clients whose certificate chains to `ca`.
    pub fn with_tls(pair: &Pair, ca: &Path, demand_client_cert: bool) -> Option<Self> {
        let (mode, ca) = match demand_client_cert {
            true => ("strict", format!("<caConfig>{}</caConfig>", ca.display())),
            false => ("none", String::new()),
        };
        let open_ssl = format!(
            "<openSSL><server><certificateFile>{}</certificateFile><privateKeyFile>{}</privateKeyFile>{ca}\
             <verificationMode>{mode}</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>\
             <cacheSessions>false</cacheSessions><disableProtocols>sslv2,sslv3</disableProtocols>\
             <preferServerCiphers>true</preferServerCiphers></server></openSSL>",
            pair.cert_file.display(),
            pair.key_file.display()
        );
        Self::spawn("https_port", &open_ssl, false)
    }

    /// `with_password`: `default` needs one; else it logs in without (the
    /// TLS table's configs name no credentials).
    fn spawn(port_tag: &str, more: &str, with_password: bool) -> Option<Self> {
        let dir = Spawned::temp_dir("clickhouse");
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let password = match with_password {
            true => format!("ch-{:x}", seed ^ u128::from(std::process::id())),
            false => String::new(),
        };
        let user_password = format!("sonde-{:x}", seed.rotate_left(17));
        std::fs::write(dir.join("users.xml"), users(&password, &user_password)).expect("writing users.xml");
        let config = dir.join("config.xml");
        let (data, more) = (dir.join("data"), more.to_string());
        let started = Instant::now();
        let process = Spawned::start(PROGRAM, dir.clone(), |port| {
            let text = format!(
                "<?xml version=\"1.0\"?>\n<yandex>\
                 <logger><level>warning</level><console>1</console></logger>\
                 <listen_host>127.0.0.1</listen_host><{port_tag}>{port}</{port_tag}>{more}\
                 <path>{data}/</path><tmp_path>{data}/tmp/</tmp_path>\
                 <user_files_path>{data}/user_files/</user_files_path>\
                 <format_schema_path>{data}/format_schemas/</format_schema_path>\
                 <users_config>{users}</users_config><default_profile>default</default_profile>\
                 <default_database>default</default_database><timezone>{TIMEZONE}</timezone>\
                 <mark_cache_size>268435456</mark_cache_size><mlock_executable>false</mlock_executable>\
                 </yandex>\n",
                data = data.display(),
                users = dir.join("users.xml").display(),
            );
            std::fs::write(&config, text).expect("writing config.xml");
            vec![format!("--config-file={}", config.display())]
        })?;
        Some(Self {
            port: process.port,
            password,
            user: "sonde".into(),
            user_password,
            started_in: started.elapsed(),
            _process: process,
        })
    }

    /// Waits for `/ping` to answer `Ok.` (listening comes first).
    fn wait_ping(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.http("GET", "/ping", &[], "").is_ok_and(|(s, b)| s == 200 && b == "Ok.\n") {
                return;
            }
            assert!(Instant::now() < deadline, "clickhouse-server on {} never answered /ping", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `sql` as `default` over plain HTTP (a POST: writes allowed)
    /// and returns its output; panics on an error answer.
    pub fn execute(&self, sql: &str) -> String {
        let headers = [("X-ClickHouse-User", "default"), ("X-ClickHouse-Key", self.password.as_str())];
        let (status, body) = self.http("POST", "/", &headers, sql).expect("reaching clickhouse-server");
        assert_eq!(status, 200, "{sql}: {body}");
        body
    }

    /// One HTTP/1.0 exchange on the plain port: status and body.
    fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut request =
            format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Ok((status, body))
    }
}

/// `default` and `sonde`, each with a plaintext password (the file is the
/// test's own), from 127.0.0.1 only.
fn users(password: &str, user_password: &str) -> String {
    let user = |name: &str, password: &str| {
        format!(
            "<{name}><password>{password}</password><networks><ip>127.0.0.1</ip></networks>\
             <profile>default</profile><quota>default</quota></{name}>"
        )
    };
    format!(
        "<?xml version=\"1.0\"?>\n<yandex><profiles><default></default></profiles><users>{}{}</users>\
         <quotas><default></default></quotas></yandex>\n",
        user("default", password),
        user("sonde", user_password)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_refuses_a_wrong_password() {
        let Some(server) = ClickHouse::start() else { return };
        eprintln!("clickhouse-server answered /ping {:?} after spawn", server.started_in);
        assert!(!server.execute("SELECT version()").trim().is_empty());
        assert_eq!(server.execute("SELECT timezone()").trim(), TIMEZONE);
        let wrong = [("X-ClickHouse-User", "default"), ("X-ClickHouse-Key", "nope")];
        let (status, body) = server.http("GET", "/?query=SELECT%201", &wrong, "").expect("an answer");
        assert_eq!(status, 401, "{body}");
        assert!(body.starts_with("Code: 193"), "{body}");
    }
}
