//! A real SMTP server for the e-mail alert tests: aiosmtpd (PyPI, installed
//! into `target/py` by `tests/py/setup.sh`) running `tests/py/smtp_server.py`
//! on a free loopback port, with a directory of its own for what it
//! receives. Killed, and the directory removed, on drop.
//!
//! - [`Mode::StartTls`]: STARTTLS offered and required before MAIL; AUTH
//!   PLAIN and LOGIN offered only after it, as a submission server does.
//! - [`Mode::Smtps`]: TLS from the first byte (implicit TLS, port 465's way).
//! - [`Mode::NoStartTls`]: a server that does not offer STARTTLS at all (a
//!   client that requires it must refuse to send).
//! - [`Mode::Plain`]: no TLS, AUTH offered in the clear (for loopback tests).
//!
//! The TLS modes present a [`crate::certs`] leaf, so a client trusts the
//! server only with that test CA. One user name and password are accepted
//! ([`SmtpServer::user`], [`SmtpServer::password`]); every AUTH attempt is
//! logged ([`SmtpServer::auth_log`]) without the password tried.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::certs::Pair;
use crate::spawned::Spawned;

/// How the server protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    StartTls,
    Smtps,
    NoStartTls,
    Plain,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::StartTls => "starttls",
            Mode::Smtps => "smtps",
            Mode::NoStartTls => "no-starttls",
            Mode::Plain => "plain",
        }
    }
}

/// One message the server accepted, as a mail client reads it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The SMTP envelope.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The user that authenticated for it, if any.
    pub login: Option<String>,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
    /// The top-level type (`multipart/alternative`) and each leaf part's.
    pub content_type: String,
    pub parts: Vec<String>,
    /// The decoded `text/plain` and `text/html` bodies.
    pub text: Option<String>,
    pub html: Option<String>,
    /// The message exactly as received (headers and encoded parts).
    pub raw: String,
}

pub struct SmtpServer {
    pub port: u16,
    pub mode: Mode,
    pub user: String,
    pub password: String,
    mail: PathBuf,
    process: Spawned,
}

impl SmtpServer {
    /// `cert` is required for the TLS modes. None (skip) when aiosmtpd is
    /// not installed, outside CI (a failure under `CI=true`).
    pub fn start(mode: Mode, cert: Option<&Pair>) -> Option<Self> {
        let python = crate::python::python_with("aiosmtpd")?;
        let script = crate::python::script("smtp_server.py");
        let dir = Spawned::temp_dir("smtp");
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).expect("mail dir");
        let user = "sonde-alerts".to_string();
        let password = format!("smtp-secret-{}", std::process::id());
        let tls = match mode {
            Mode::StartTls | Mode::Smtps => {
                let pair = cert.expect("a TLS mode needs a certificate");
                Some((pair.cert_file.display().to_string(), pair.key_file.display().to_string()))
            }
            Mode::NoStartTls | Mode::Plain => None,
        };
        let (user_arg, password_arg, mail_arg) = (user.clone(), password.clone(), mail.display().to_string());
        let process = Spawned::start(&python.display().to_string(), dir, move |port| {
            let mut args = vec![
                script.display().to_string(),
                "--port".into(),
                port.to_string(),
                "--dir".into(),
                mail_arg.clone(),
                "--mode".into(),
                mode.arg().into(),
                "--user".into(),
                user_arg.clone(),
                "--password".into(),
                password_arg.clone(),
            ];
            if let Some((cert, key)) = &tls {
                args.extend(["--cert".into(), cert.clone(), "--key".into(), key.clone()]);
            }
            args
        })?;
        Some(Self { port: process.port, mode, user, password, mail, process })
    }

    /// `smtps://user@127.0.0.1:port`, `smtp://user@127.0.0.1:port`, or for
    /// [`Mode::Plain`] `smtp://127.0.0.1:port?tls=none` (no user): the
    /// route's `smtp_url`, its password to be given by `password_env`.
    pub fn url(&self) -> String {
        match self.mode {
            Mode::Smtps => format!("smtps://{}@127.0.0.1:{}", self.user, self.port),
            Mode::StartTls | Mode::NoStartTls => format!("smtp://{}@127.0.0.1:{}", self.user, self.port),
            Mode::Plain => format!("smtp://127.0.0.1:{}?tls=none", self.port),
        }
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for n in 1.. {
            let eml = self.mail.join(format!("{n}.eml"));
            let Ok(raw) = std::fs::read_to_string(&eml) else { break };
            let meta =
                std::fs::read_to_string(self.mail.join(format!("{n}.json"))).expect("n.json beside n.eml");
            let v: Value = serde_json::from_str(&meta).expect("n.json");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let opt = |k: &str| v[k].as_str().map(str::to_string);
            let list = |k: &str| {
                v[k].as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            };
            out.push(Received {
                mail_from: s("mail_from"),
                rcpt_tos: list("rcpt_tos"),
                login: opt("login"),
                subject: s("subject"),
                from: s("from"),
                to: s("to"),
                message_id: s("message_id"),
                content_type: s("content_type"),
                parts: list("parts"),
                text: opt("text"),
                html: opt("html"),
                raw,
            });
        }
        out
    }

    /// Waits until at least `n` messages arrived; all of them.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let end = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < end,
                "{} of {n} mails within {within:?}; auth log:\n{}\nserver log:\n{}",
                got.len(),
                self.auth_log(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One line per AUTH attempt: `ok <user> <mechanism>` or `refused …`.
    pub fn auth_log(&self) -> String {
        std::fs::read_to_string(self.mail.join("auth.log")).unwrap_or_default()
    }

    /// The server's own output.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.process.dir.join(format!("{}.log", self.port))).unwrap_or_default()
    }
}
