//! The `sonde` command line (DESIGN §7).
//!
//! `sonde check` exits 0 for OK, 1 for any other outcome, and 2 when the
//! command itself cannot run, with the reason on stderr.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::report::CheckOutput;
use crate::runtime::{Plugin, Runtime, RuntimeConfig, Status, builtin};

#[derive(Debug, Parser)]
#[command(name = "sonde", version, about = "Health service for data-source connectors")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Run one check in the same sandbox as the service and print the result.
    Check(CheckArgs),
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Check sources in a private network for a service elsewhere (DESIGN §10).
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The service, https://host[:port] (plain http only to loopback).
    #[arg(long)]
    pub server: String,
    /// The location this agent serves; its key must be for it.
    #[arg(long)]
    pub location: String,
    /// Unique within the location (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// PEM CAs trusted for the service's certificate, beside the web PKI.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// A file holding the agent key (else SONDE_AGENT_KEY).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Results kept in memory while the service is away.
    #[arg(long, default_value_t = 10_000)]
    pub buffer: usize,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    pub log_json: bool,
}

#[derive(Debug, Args)]
#[group(id = "probe", required = true, multiple = false)]
pub struct ProbeSource {
    /// A plugin file (.wasm component).
    #[arg(long, group = "probe")]
    pub plugin: Option<PathBuf>,
    /// A built-in probe's source type, e.g. postgres.
    #[arg(long = "type", group = "probe")]
    pub source_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML); without it, the embedded example.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on, overriding the configuration's `listen`.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    pub log_json: bool,
    /// This instance's name in check history (default: host name and pid).
    #[arg(long, env = "SONDE_REPLICA_ID")]
    pub replica_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub probe: ProbeSource,
    /// The source's configuration, as JSON.
    #[arg(long)]
    pub config: String,
    /// Deadline of the attempt, e.g. 10s or 500ms.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Print a plugin's probe-info and WIT version as JSON.
    Inspect {
        /// The plugin file.
        file: PathBuf,
    },
    /// Write a new probe crate from the template, with the SDK vendored
    /// beside it (it is not on crates.io).
    New {
        /// The probe's source type ([a-z0-9_-]+, starting with a letter);
        /// the crate is called NAME-probe.
        name: String,
        /// The crate's directory, absent or empty (default: ./NAME-probe).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Why a command could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("--config is not valid JSON: {0}")]
    ConfigJson(String),
    #[error("--config must be a JSON object")]
    ConfigNotObject,
    #[error("no built-in probe of type {wanted:?} (built in: {available})")]
    UnknownType { wanted: String, available: String },
    #[error(transparent)]
    Load(#[from] crate::runtime::PluginLoadError),
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error("cannot write the output: {0}")]
    Output(String),
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
    #[error(transparent)]
    Scaffold(#[from] crate::scaffold::ScaffoldError),
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
    #[error("{0}")]
    AgentKey(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: std::net::SocketAddr, reason: String },
}

/// Runs a parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, CommandError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Check(args) => check(args).await,
        Command::Plugin(PluginCommand::Inspect { file }) => inspect(file).await,
        Command::Plugin(PluginCommand::New { name, dir }) => new_plugin(&name, dir.as_deref()),
        Command::Agent(args) => agent(args).await,
    }
}

async fn agent(args: AgentArgs) -> Result<u8, CommandError> {
    let key = match &args.key_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CommandError::AgentKey(format!("--key-file {}: {e}", path.display())))?
            .trim()
            .to_string(),
        None => std::env::var("SONDE_AGENT_KEY").map_err(|_| {
            CommandError::AgentKey("no agent key: set SONDE_AGENT_KEY or give --key-file".into())
        })?,
    };
    if key.is_empty() {
        return Err(CommandError::AgentKey("the agent key is empty".into()));
    }
    let name = args.name.clone().unwrap_or_else(crate::service::host_name);
    let options = crate::agent::Options {
        server: args.server,
        location: args.location,
        name,
        ca_file: args.ca_file,
        buffer: args.buffer,
    };
    tokio::select! {
        r = crate::agent::run(options, key) => r?,
        _ = shutdown() => {}
    }
    Ok(0)
}

async fn serve(args: ServeArgs) -> Result<u8, CommandError> {
    let mut config = match &args.config {
        Some(path) => crate::config::Config::load(path).map_err(crate::service::ServiceError::from)?,
        None => {
            tracing::warn!("no --config: running on the embedded example configuration and its example keys");
            crate::config::Config::embedded().map_err(crate::service::ServiceError::from)?
        }
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.replica_id = args.replica_id.clone();
    // Checked with the file already; built here once more to serve.
    let tls = config.server_tls().map_err(crate::service::ServiceError::from)?;
    let service = crate::service::Service::start(&config).await?;
    crate::service::reload::reload_on_sighup(std::sync::Arc::clone(&service), args.config.clone());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CommandError::Listen { addr: config.listen, reason: e.to_string() })?;
    let addr = listener.local_addr().unwrap_or(config.listen);
    let plugins = service.registry().types().join(", ");
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, data_dir = %config.data_dir.display(), %plugins, "sonde is serving");
    tracing::info!("listening on {scheme}://{addr}");
    let app = crate::server::app(service);
    crate::server::listen::serve(listener, app, config.server.clone(), tls, shutdown()).await;
    Ok(0)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = interrupt => {}, _ = term.recv() => {} }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}

async fn select_plugin(runtime: &Runtime, probe: &ProbeSource) -> Result<Plugin, CommandError> {
    if let Some(path) = &probe.plugin {
        return Ok(runtime.load_file(path).await?);
    }
    let wanted = probe.source_type.clone().unwrap_or_default();
    match runtime.load_builtin(&wanted).await {
        Some(plugin) => Ok(plugin?),
        None => {
            let names: Vec<&str> = builtin::all().iter().map(|(n, _)| *n).collect();
            Err(CommandError::UnknownType { wanted, available: names.join(", ") })
        }
    }
}

async fn check(args: CheckArgs) -> Result<u8, CommandError> {
    let config: Value =
        serde_json::from_str(&args.config).map_err(|e| CommandError::ConfigJson(e.to_string()))?;
    if !config.is_object() {
        return Err(CommandError::ConfigNotObject);
    }
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let plugin = select_plugin(&runtime, &args.probe).await?;
    let report = runtime.check(&plugin, &config, args.timeout).await;
    if !report.stderr.text.is_empty() {
        tracing::info!(stderr = %report.stderr.text, "probe stderr");
    }
    print_json(&CheckOutput::from(&report))?;
    Ok(if report.status == Status::Ok { 0 } else { 1 })
}

async fn inspect(file: PathBuf) -> Result<u8, CommandError> {
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let plugin = runtime.load_file(&file).await?;
    let info = &plugin.info;
    print_json(&json!({
        "source_type": info.source_type,
        "version": info.version,
        "description": info.description,
        "config_schema": info.config_schema,
        "wit_version": info.wit_version,
        "sha256": plugin.digest,
        "file": file,
    }))?;
    Ok(0)
}

/// Prints what was written as JSON (like `inspect`), and the next steps on
/// stderr for a person.
fn new_plugin(name: &str, dir: Option<&std::path::Path>) -> Result<u8, CommandError> {
    let created = crate::scaffold::create(name, dir)?;
    print_json(&created)?;
    eprintln!(
        "next: cd {} && cargo build --release && sonde plugin inspect {}",
        created.dir.display(),
        created.artifact
    );
    Ok(0)
}

fn print_json(v: &impl serde::Serialize) -> Result<(), CommandError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(v).map_err(|e| CommandError::Output(e.to_string()))?;
    writeln!(std::io::stdout(), "{text}").map_err(|e| CommandError::Output(e.to_string()))
}
