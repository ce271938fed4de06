//! The SSH connection: sunset's sans-IO client driven over the SDK's
//! blocking stream. Output is flushed before every blocking read, so the
//! probe never waits while it has something to say; the host's deadline
//! ends a read that never returns (TIMEOUT).
//!
//! The connection checks the host key against the pinned fingerprint,
//! authenticates (the key first, then the password, each once), and opens
//! one session channel with the `sftp` subsystem, whose bytes
//! [`Ssh::exchange`] carries.

use std::io::{Read, Write};

use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Secret};
use sunset::{ChanData, ChanHandle, CliEvent, Client, Event, Runner, SignKey};

use crate::keys;
use crate::sftp;

mod failure;

use failure::{is_text, not_ssh, protocol};

/// How much of the peer's first bytes is kept: its version line, or what a
/// server of another protocol said instead. Text lines may come first (RFC 4253 §4.2); sunset takes 50.
const SEEN: usize = 16 * 1024;
/// Bytes the runner has not taken yet: more is no SSH server.
const MAX_PENDING: usize = 256 * 1024;

/// What to log in with; none means the handshake alone.
pub struct Credentials {
    pub user: String,
    pub password: Option<Secret>,
    pub key: Option<SignKey>,
}

/// The host key the server showed.
pub struct HostKey {
    pub algorithm: String,
    pub fingerprint: String,
}

pub struct Ssh {
    runner: Runner<'static, Client>,
    stream: Stream,
    /// Read from the socket, not yet taken by the runner.
    pending: Vec<u8>,
    st: State,
    chan: Option<ChanHandle>,
    chan_in: Vec<u8>,
    chan_out: Vec<u8>,
}

/// Everything but the runner, so that an event (which borrows the runner)
/// can be answered with it.
struct State {
    seen: Vec<u8>,
    credentials: Option<Credentials>,
    pinned: Option<String>,
    host_key: Option<HostKey>,
    mismatch: bool,
    key_offered: bool,
    password_offered: bool,
    method: Option<&'static str>,
    /// Set once the handshake is done and, without credentials, the probe stops.
    handshaken: bool,
    /// The `sftp` subsystem was requested on the session channel.
    subsystem: bool,
    /// The client's version line went out.
    version_sent: bool,
}

/// What an event asks of the connection once its borrow has ended.
enum Then {
    Nothing,
    OpenSession,
    Stop,
    Fail(CheckError),
}

impl Ssh {
    pub fn new(stream: Stream, credentials: Option<Credentials>, pinned: Option<String>) -> Self {
        let st = State {
            seen: Vec::new(),
            credentials,
            pinned,
            host_key: None,
            mismatch: false,
            key_offered: false,
            password_offered: false,
            method: None,
            handshaken: false,
            subsystem: false,
            version_sent: false,
        };
        Self {
            runner: Runner::new_client_owned(),
            stream,
            pending: Vec::new(),
            st,
            chan: None,
            chan_in: Vec::new(),
            chan_out: Vec::new(),
        }
    }

    /// The server's version line (`SSH-2.0-OpenSSH_9.2p1 …`), once seen.
    pub fn server_version(&self) -> Option<String> {
        self.st.server_version()
    }

    /// The host key the server showed, once seen.
    pub fn host_key(&self) -> Option<&HostKey> {
        self.st.host_key.as_ref()
    }

    /// "publickey" or "password", once authenticated with it.
    pub fn method(&self) -> Option<&'static str> {
        self.st.method
    }

    /// Key exchange with the host key checked; without credentials that
    /// is all, with them the login and the `sftp` subsystem's channel.
    pub fn handshake(&mut self) -> Result<(), CheckError> {
        self.run(|s| s.st.handshaken || (s.st.subsystem && s.chan.is_some()))
    }

    /// Sends one SFTP packet on the channel and returns the next one the
    /// server sends back (SFTP v3 replies come in order here: one request
    /// is outstanding at a time).
    pub fn exchange(&mut self, packet: Vec<u8>) -> Result<Vec<u8>, CheckError> {
        self.chan_out.extend_from_slice(&packet);
        self.run(|s| matches!(sftp::complete(&s.chan_in), Ok(Some(_)) | Err(_)))?;
        match sftp::complete(&self.chan_in) {
            Ok(Some(n)) => Ok(self.chan_in.drain(..n).collect()),
            Ok(None) => Err(protocol("the sftp channel ended".into())),
            Err(e) => Err(protocol(e)),
        }
    }

    /// Ends the session politely; best effort, the check is decided.
    pub fn close(mut self) {
        if let Some(chan) = self.chan.take() {
            let _ = self.runner.channel_done(chan);
        }
        self.runner.close_output();
        let _ = self.flush();
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    fn run(&mut self, done: impl Fn(&Self) -> bool) -> Result<(), CheckError> {
        loop {
            self.flush()?;
            if done(self) {
                return Ok(());
            }
            let (progressed, then) = match self.runner.progress() {
                Ok(Event::Cli(event)) => (true, self.st.on_event(event)),
                Ok(Event::Progressed) => (true, Then::Nothing),
                Ok(_) => (false, Then::Nothing),
                Err(e) => return Err(self.st.failure(e)),
            };
            self.then(then)?;
            if self.st.handshaken {
                return Ok(());
            }
            if progressed || self.move_channel_data()? {
                continue;
            }
            if done(self) {
                return Ok(());
            }
            if self.chan.as_ref().is_some_and(|c| self.runner.is_channel_eof(c)) {
                return Err(protocol("the server closed the sftp channel".into()));
            }
            self.flush()?;
            self.fill()?;
        }
    }

    fn then(&mut self, then: Then) -> Result<(), CheckError> {
        match then {
            Then::Nothing => Ok(()),
            Then::Stop => {
                self.st.handshaken = true;
                Ok(())
            }
            Then::OpenSession => {
                let chan = self.runner.open_client_session().map_err(|e| self.st.failure(e))?;
                self.chan = Some(chan);
                Ok(())
            }
            Then::Fail(e) => Err(e),
        }
    }

    /// Moves channel bytes both ways; true when any moved.
    fn move_channel_data(&mut self) -> Result<bool, CheckError> {
        let Some(chan) = &self.chan else { return Ok(false) };
        if !self.st.subsystem {
            return Ok(false);
        }
        let mut moved = false;
        while !self.chan_out.is_empty() {
            match self.runner.write_channel(chan, ChanData::Normal, &self.chan_out) {
                Ok(0) => break,
                Ok(n) => {
                    self.chan_out.drain(..n);
                    moved = true;
                }
                Err(sunset::Error::ChannelEOF) => break,
                Err(e) => return Err(protocol(format!("ssh: {e}"))),
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.runner.read_channel_either(chan, &mut buf) {
                Ok((0, _)) => break,
                Ok((n, ChanData::Normal)) => {
                    self.chan_in.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                // sftp-server's diagnostics: not part of the protocol.
                Ok((_, _)) => moved = true,
                Err(e) => return Err(protocol(format!("ssh: {e}"))),
            }
        }
        Ok(moved)
    }

    /// Writes what the runner has to send. Until the server's version line
    /// has come, only the client's own goes out, as OpenSSH does: a server
    /// of another protocol then has one line to choke on, not a binary
    /// KEXINIT that could make it reset the connection before the probe
    /// has read what it said.
    fn flush(&mut self) -> Result<(), CheckError> {
        let version_seen = self.st.server_version().is_some();
        while self.runner.is_output_pending() {
            let out = self.runner.output_buf();
            let n = if version_seen {
                out.len()
            } else if self.st.version_sent {
                break;
            } else {
                match out.iter().position(|&b| b == b'\n') {
                    Some(end) => end + 1,
                    None => break,
                }
            };
            self.stream.write_all(&out[..n])?;
            self.runner.consume_output(n);
            self.st.version_sent = true;
        }
        self.stream.flush()?;
        Ok(())
    }

    /// Gives the runner more of the peer's bytes. It reads from the socket
    /// when the runner takes none of those waiting: they may be the server's
    /// version line, which must be seen (in `seen`) before the client's
    /// KEXINIT goes out and the runner takes input again.
    fn fill(&mut self) -> Result<(), CheckError> {
        if self.take_pending()? > 0 {
            return Ok(());
        }
        if self.pending.len() > MAX_PENDING {
            return Err(not_ssh(&self.st.seen, "no SSH version line"));
        }
        let mut buf = [0u8; 16 * 1024];
        let n = match self.stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if self.st.server_version().is_none() && !self.st.seen.is_empty() => {
                return Err(not_ssh(&self.st.seen, &e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            self.runner.close_input();
            return Ok(());
        }
        let keep = (SEEN - self.st.seen.len().min(SEEN)).min(n);
        self.st.seen.extend_from_slice(&buf[..keep]);
        self.pending.extend_from_slice(&buf[..n]);
        if self.st.server_version().is_none() && !is_text(&self.st.seen) {
            return Err(not_ssh(&self.st.seen, "not an SSH version line"));
        }
        self.take_pending()?;
        Ok(())
    }

    fn take_pending(&mut self) -> Result<usize, CheckError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let taken = self.runner.input(&self.pending).map_err(|e| self.st.failure(e))?;
        self.pending.drain(..taken);
        Ok(taken)
    }
}

impl State {
    fn server_version(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.seen);
        // Whole lines only: a version line still arriving is not one yet.
        let line = text.split_inclusive('\n').find(|l| l.starts_with("SSH-") && l.ends_with('\n'))?;
        Some(line.trim_end().to_string())
    }

    /// Answers one client event; what needs the runner again is returned.
    fn on_event(&mut self, event: CliEvent) -> Then {
        let result = match event {
            CliEvent::Hostkey(check) => {
                let observed = check.hostkey().map_err(|e| e.to_string()).and_then(|k| {
                    Ok(HostKey { algorithm: keys::algorithm(&k), fingerprint: keys::fingerprint(&k)? })
                });
                let observed = match observed {
                    Ok(k) => k,
                    Err(e) => return Then::Fail(protocol(e)),
                };
                let accept = self.pinned.as_ref().is_none_or(|p| *p == observed.fingerprint);
                self.mismatch = !accept;
                self.host_key = Some(observed);
                if accept { check.accept() } else { check.reject() }
            }
            CliEvent::Username(request) => match &self.credentials {
                Some(c) => request.username(&c.user),
                // The handshake is done, the host key verified: no login to try.
                None => return Then::Stop,
            },
            CliEvent::Pubkey(request) => {
                match self.credentials.as_ref().and_then(|c| c.key.clone()).filter(|_| !self.key_offered) {
                    Some(key) => {
                        self.key_offered = true;
                        self.method = Some("publickey");
                        request.pubkey(key)
                    }
                    None => request.skip(),
                }
            }
            CliEvent::Password(request) => {
                match self
                    .credentials
                    .as_ref()
                    .and_then(|c| c.password.as_ref())
                    .filter(|_| !self.password_offered)
                {
                    Some(password) => {
                        self.password_offered = true;
                        self.method = Some("password");
                        request.password(password.expose())
                    }
                    None => request.skip(),
                }
            }
            CliEvent::AgentSign(request) => request.skip(),
            CliEvent::Authenticated => return Then::OpenSession,
            CliEvent::SessionOpened(mut opener) => {
                self.subsystem = true;
                opener.subsystem("sftp")
            }
            CliEvent::SessionExit(_) => Ok(()),
            CliEvent::Defunct => return Then::Fail(self.closed()),
            CliEvent::Banner(_) | CliEvent::PollAgain => Ok(()),
        };
        match result {
            Ok(()) => Then::Nothing,
            Err(e) => Then::Fail(self.failure(e)),
        }
    }
}
