//! A private `mosquitto` for the mqtt probe's auth paths (the shared broker
//! on 127.0.0.1:1883 lets anyone in): anonymous clients refused, one user in
//! a password file made with `mosquitto_passwd`.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use crate::in_ci;
use crate::spawned::Spawned;

/// A private broker on a free loopback port.
pub struct Mosquitto {
    pub port: u16,
    _process: Spawned,
}

impl Mosquitto {
    /// A broker that knows only `user` with `password`. None (skip) when
    /// mosquitto is not installed, outside CI.
    pub fn with_user(user: &str, password: &str) -> Option<Self> {
        let dir = Spawned::temp_dir("mosquitto");
        let passwd = dir.join("passwd");
        let made =
            Command::new("mosquitto_passwd").arg("-c").arg("-b").arg(&passwd).args([user, password]).output();
        match made {
            Ok(out) => {
                assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !in_ci() => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("SKIPPED: mosquitto_passwd is not installed");
                return None;
            }
            Err(e) => panic!("running mosquitto_passwd: {e}"),
        }
        // Started as root, mosquitto would switch to the `mosquitto` user,
        // who cannot read our temp dir: keep the owner of the dir instead.
        let as_root = std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0);
        let config = dir.join("mosquitto.conf");
        let passwd = passwd.display().to_string();
        let process = Spawned::start("mosquitto", dir, |port| {
            let mut text = format!(
                "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\npersistence false\n"
            );
            if as_root {
                text.push_str("user root\n");
            }
            std::fs::write(&config, text).expect("writing mosquitto.conf");
            vec!["-c".to_string(), config.display().to_string()]
        })?;
        Some(Self { port: process.port, _process: process })
    }
}

impl Mosquitto {
    /// A broker that lets anyone in, over TLS only, with `pair` as its
    /// certificate; with `demand_client_cert`, only clients whose
    /// certificate chains to `ca`.
    pub fn with_tls(
        pair: &crate::certs::Pair,
        ca: &std::path::Path,
        demand_client_cert: bool,
    ) -> Option<Self> {
        let tls = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {demand_client_cert}\n",
            ca.display(),
            pair.cert_file.display(),
            pair.key_file.display()
        );
        Self::anonymous(&tls)
    }

    /// A broker that lets anyone in over plaintext MQTT.
    pub fn plain() -> Option<Self> {
        Self::anonymous("")
    }

    fn anonymous(listener: &str) -> Option<Self> {
        let dir = Spawned::temp_dir("mosquitto-tls");
        // As in `with_user`: stay root rather than switch to `mosquitto`.
        let as_root = std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0);
        let config = dir.join("mosquitto.conf");
        let listener = listener.to_string();
        let process = Spawned::start("mosquitto", dir, |port| {
            let mut text =
                format!("listener {port} 127.0.0.1\n{listener}allow_anonymous true\npersistence false\n");
            if as_root {
                text.push_str("user root\n");
            }
            std::fs::write(&config, text).expect("writing mosquitto.conf");
            vec!["-c".to_string(), config.display().to_string()]
        })?;
        Some(Self { port: process.port, _process: process })
    }
}
