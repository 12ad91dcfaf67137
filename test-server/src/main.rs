//! `resocket-test-server [--port N] [--www DIR] [--port-file PATH] [--extra-ports K]
//! [--bench-out PATH] [--cross-origin-isolated]`
//!
//! Binds `127.0.0.1:N` (default 0: an ephemeral port), prints
//! `resocket-test-server listening on http://127.0.0.1:PORT`, optionally
//! writes the bare port to `--port-file` (atomically, via a rename), binds
//! `--extra-ports K` more ephemeral listeners serving the same state (printed
//! as `extra ports: P1 P2 ...`), and serves until SIGTERM or SIGINT.
//! `--bench-out` appends each `POST /api/bench/result` body to PATH as a JSON line;
//! `--cross-origin-isolated` serves static files with COOP/COEP headers (for the
//! browser benchmark's precise timers).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use resocket_test_server::{run, State};
use tokio::net::TcpListener;

const USAGE: &str = "usage: resocket-test-server [--port N] [--www DIR] [--port-file PATH] \
[--extra-ports K] [--bench-out PATH] [--cross-origin-isolated]";

/// Parsed command line.
struct Args {
    port: u16,
    www: PathBuf,
    port_file: Option<PathBuf>,
    extra_ports: usize,
    bench_out: Option<PathBuf>,
    cross_origin_isolated: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        port: 0,
        www: PathBuf::from("www"),
        port_file: None,
        extra_ports: 0,
        bench_out: None,
        cross_origin_isolated: false,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                parsed.port = v.parse().map_err(|_| format!("bad --port: {v:?}"))?;
            }
            "--www" => parsed.www = PathBuf::from(value()?),
            "--port-file" => parsed.port_file = Some(PathBuf::from(value()?)),
            "--extra-ports" => {
                let v = value()?;
                parsed.extra_ports = v.parse().map_err(|_| format!("bad --extra-ports: {v:?}"))?;
            }
            "--bench-out" => parsed.bench_out = Some(PathBuf::from(value()?)),
            "--cross-origin-isolated" => parsed.cross_origin_isolated = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(parsed)
}

/// Writes `port` to `path` through a temporary file and a rename, so a reader
/// never sees a partial file.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                eprintln!("resocket-test-server: cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("resocket-test-server: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !args.www.is_dir() {
        eprintln!(
            "resocket-test-server: warning: static root {} is not a directory",
            args.www.display()
        );
    }

    let bind = |port: u16| TcpListener::bind(("127.0.0.1", port));
    let main_listener = match bind(args.port).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "resocket-test-server: cannot bind 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut extra = Vec::with_capacity(args.extra_ports);
    for _ in 0..args.extra_ports {
        match bind(0).await {
            Ok(l) => extra.push(l),
            Err(e) => {
                eprintln!("resocket-test-server: cannot bind an extra port: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let port_of = |l: &TcpListener| l.local_addr().map(|a| a.port());
    let port = match port_of(&main_listener) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("resocket-test-server: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let extra_ports: Vec<String> = extra
        .iter()
        .filter_map(|l| port_of(l).ok())
        .map(|p| p.to_string())
        .collect();

    let mut state = State::new(args.www);
    if let Some(path) = args.bench_out {
        state = state.with_bench_out(path);
    }
    if args.cross_origin_isolated {
        state = state.cross_origin_isolated();
    }
    tokio::spawn(run(main_listener, state.clone()));
    for listener in extra {
        tokio::spawn(run(listener, state.clone()));
    }

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "resocket-test-server listening on http://127.0.0.1:{port}"
        );
        if !extra_ports.is_empty() {
            let _ = writeln!(out, "extra ports: {}", extra_ports.join(" "));
        }
        let _ = out.flush();
    }
    if let Some(path) = &args.port_file {
        if let Err(e) = write_port_file(path, port) {
            eprintln!(
                "resocket-test-server: cannot write the port file {}: {e}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }

    shutdown_signal().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn cli() {
        let a = parse(&[]).expect("defaults");
        assert_eq!(a.port, 0);
        assert_eq!(a.www, PathBuf::from("www"));
        assert!(a.port_file.is_none());
        assert_eq!(a.extra_ports, 0);
        let a = parse(&[
            "--port",
            "8080",
            "--www=site",
            "--port-file",
            "p",
            "--extra-ports",
            "2",
        ])
        .expect("parses");
        assert_eq!(a.port, 8080);
        assert_eq!(a.www, PathBuf::from("site"));
        assert_eq!(a.port_file, Some(PathBuf::from("p")));
        assert_eq!(a.extra_ports, 2);
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        let a = parse(&["--bench-out", "r.jsonl", "--cross-origin-isolated"]).expect("parses");
        assert_eq!(a.bench_out, Some(PathBuf::from("r.jsonl")));
        assert!(a.cross_origin_isolated);
        assert!(!parse(&[]).expect("defaults").cross_origin_isolated);
    }
}
