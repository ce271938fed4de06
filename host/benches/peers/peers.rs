//! The peers of the benchmark, as child processes on loopback ports: nginx
//! (the target every check reaches) and blackbox_exporter (the native tool
//! Sonde is compared with). Killed on drop.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn spawn(program: &str, args: &[String], port: u16) -> Child {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); install Debian's nginx, prometheus-blackbox-exporter and wrk"));
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{program} exited: {status}");
        }
        assert!(Instant::now() < end, "{program} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

pub struct Nginx {
    pub port: u16,
    child: Child,
}

impl Nginx {
    /// One worker (as blackbox and Sonde get the machine's two cores between
    /// them and `wrk`), a 200 with a short body, no logging.
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        let root = dir.join("nginx");
        std::fs::create_dir_all(&root).expect("nginx dir");
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n\
             events {{ worker_connections 8192; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n\
               fastcgi_temp_path {root}/fastcgi;\n  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n\
               server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n",
            root = root.display()
        );
        std::fs::write(root.join("nginx.conf"), conf).expect("nginx.conf");
        let args = vec![
            "-p".into(),
            root.display().to_string(),
            "-c".into(),
            root.join("nginx.conf").display().to_string(),
        ];
        Self { port, child: spawn("nginx", &args, port) }
    }
}

pub struct Blackbox {
    pub port: u16,
    child: Child,
}

impl Blackbox {
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        let conf = dir.join("blackbox.yml");
        std::fs::write(
            &conf,
            "modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n  http_2xx:\n    prober: http\n    timeout: 5s\n    \
             http:\n      preferred_ip_protocol: ip4\n",
        )
        .expect("blackbox.yml");
        let args = vec![
            format!("--config.file={}", conf.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        Self { port, child: spawn("prometheus-blackbox-exporter", &args, port) }
    }

    /// The `/probe` URL of `module` against `target`.
    pub fn probe(&self, module: &str, target: &str) -> String {
        format!("http://127.0.0.1:{}/probe?module={module}&target={target}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: a killed master leaves its worker running.
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Blackbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
