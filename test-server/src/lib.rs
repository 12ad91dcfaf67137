//! Host-side test server for resocket's browser tests.
//!
//! One listener serves three things, all on `127.0.0.1`:
//!
//! * **WebSocket endpoints** whose path chooses a behaviour: `/echo`, `/sink` (records,
//!   never answers a message, completes the closing handshake),
//!   `/close/{code}/{reason}`, `/drop-after/{n}`, `/silent`, `/stall`,
//!   `/stall-after/{k}`, `/reject/{n}/{key}`, `/flood/{n}/{size}`, and
//!   `/stomp-silent[/{beat_ms}]` (a STOMP broker on subprotocol `v12.stomp` that answers
//!   the first `CONNECT` with `CONNECTED` promising a heart-beat every `beat_ms`, 500 by
//!   default ([`STOMP_SILENT_CONNECTED`]) and none for 0, and then sends nothing),
//!   `/stomp-garble` (the same with no heart-beats, and a `RECEIPT` for every frame that
//!   asks, the first `SEND`'s behind a malformed frame in the same message:
//!   [`STOMP_GARBLED`]), `/stomp-split` (a `MESSAGE` for every `SUBSCRIBE`, split over
//!   three WebSocket messages, one of them a lone EOL: [`STOMP_SPLIT`]), `/stomp-mute`
//!   (accepts `v12.stomp` and never answers anything, `CONNECT` included),
//!   `/stomp-stall/{beat_ms}` (the same as `/stomp-silent/{beat_ms}`, but it stops reading
//!   once it has answered `CONNECT`), `/stomp-refuse` (answers every frame's `receipt`, but
//!   a `SUBSCRIBE` to `/refused…` with an `ERROR` naming it, then closes).
//!   The handshake is done by hand (so rejections and subprotocol answers are
//!   fully controlled); the connection is then driven by tokio-tungstenite,
//!   except `/silent` and `/stomp-mute`, which parse frames themselves so they never
//!   answer a ping.
//! * **An HTTP API** (`/api/report/{key}`, `/api/drop/{key}`,
//!   `/api/close/{key}/{code}/{reason}`, `/api/reset/{key}`, `/api/health`)
//!   over a registry of connections that carried `?key=K`, and a slow token server,
//!   `/api/token/{key}?delay=MS`, whose requests the key's report records as waiting,
//!   given or aborted (the client went away first).
//! * **Static files** from a directory (the browser test page and its wasm).
//! * **Benchmark endpoints** (`POST /api/bench/result`, `GET /api/bench/results`,
//!   `GET /api/bench/cpu`, `GET /api/bench/renderer-cpu`) for `benches/browser`; see
//!   the `bench` module.
//!
//! Every HTTP response closes the connection and carries
//! `Access-Control-Allow-Origin: *` and `Cache-Control: no-store`, except static files:
//! `no-cache` (fetched anew each time as well, and a page may enter the back/forward cache).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let state = resocket_test_server::State::new("www");
//! tokio::spawn(resocket_test_server::run(listener, state.clone()));
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod bench;
mod files;
mod http;
mod registry;
mod ws;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::bench::BenchResults;
use crate::http::{respond_and_close, HeadError, Request, Response};
use crate::registry::Registry;

pub use crate::ws::{STOMP_GARBLED, STOMP_SILENT_CONNECTED, STOMP_SPLIT};

pub use crate::registry::{
    CloseReport, ClosedBy, ConnectionReport, Report, TokenOutcome, ABNORMAL_CLOSE_CODE,
    NO_STATUS_CODE,
};

/// Subprotocols the server accepts, in no particular order: the server
/// answers the first one the client offered that is in this list.
pub const SUPPORTED_PROTOCOLS: [&str; 2] = ["v1.resocket", "v2.resocket"];

/// Shared server state: the connection registry and the static root.
/// Cheap to clone; clones share the same registry.
#[derive(Clone)]
pub struct State {
    registry: Arc<Registry>,
    www: Arc<PathBuf>,
    bench: Arc<BenchResults>,
    isolated: bool,
}

impl State {
    /// A fresh state serving static files from `www`.
    pub fn new(www: impl Into<PathBuf>) -> Self {
        State {
            registry: Arc::new(Registry::default()),
            www: Arc::new(www.into()),
            bench: Arc::new(BenchResults::default()),
            isolated: false,
        }
    }

    /// Also appends every `POST /api/bench/result` body, as one JSON line, to `path`.
    pub fn with_bench_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.bench = Arc::new(BenchResults::new(Some(path.into())));
        self
    }

    /// Serves static files with `Cross-Origin-Opener-Policy: same-origin` and
    /// `Cross-Origin-Embedder-Policy: require-corp`, so their pages are cross-origin
    /// isolated (the benchmark needs that for 5 µs `performance.now()` resolution).
    pub fn cross_origin_isolated(mut self) -> Self {
        self.isolated = true;
        self
    }

    /// The static root.
    pub fn www(&self) -> &Path {
        &self.www
    }

    /// What `/api/report/{key}` would answer.
    pub fn report(&self, key: &str) -> Report {
        self.registry.report(key)
    }

    /// What `/api/reset/{key}` does: forget the key.
    pub fn reset(&self, key: &str) {
        self.registry.reset(key)
    }
}

/// Accepts connections on `listener` forever, each handled in its own task.
///
/// Accept errors (e.g. too many open files) are logged and retried after a
/// short pause; they never end the loop.
pub async fn run(listener: TcpListener, state: State) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(handle_connection(stream, state.clone()));
            }
            Err(e) => {
                log(format_args!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Logs one line to stderr.
pub(crate) fn log(args: std::fmt::Arguments<'_>) {
    eprintln!("resocket-test-server: {args}");
}

async fn handle_connection(mut stream: TcpStream, state: State) {
    if let Err(e) = stream.set_nodelay(true) {
        log(format_args!("set_nodelay failed: {e}"));
    }
    let (head, leftover) = match http::read_head(&mut stream).await {
        Ok(parts) => parts,
        Err(HeadError::TooLarge) => {
            let resp = Response::text(431, "request head too large");
            return respond_and_close(stream, &resp, false).await;
        }
        Err(HeadError::Closed) => return,
        Err(e) => {
            log(format_args!("dropping connection: {e}"));
            return;
        }
    };
    let req = match http::parse_head(&head) {
        Ok(req) => req,
        Err(e) => {
            log(format_args!("bad request: {e}"));
            let resp = Response::text(400, e);
            return respond_and_close(stream, &resp, false).await;
        }
    };
    if req.header_has_token("upgrade", "websocket") {
        return ws::handle_upgrade(stream, leftover, req, state).await;
    }
    let head_only = req.method == "HEAD";
    let body = if req.method == "POST" {
        match http::read_body(&mut stream, leftover, &req, bench::MAX_RESULT_BODY).await {
            Ok(body) => body,
            Err(resp) => return respond_and_close(stream, &resp, false).await,
        }
    } else {
        Vec::new()
    };
    if let [api, route, key] = req.segments.as_slice() {
        if req.method == "GET" && api == "api" && route == "token" {
            return token(stream, key, req.query_param("delay"), &state).await;
        }
    }
    let resp = route_http(&req, &body, &state).await;
    respond_and_close(stream, &resp, head_only).await;
}

/// The longest `delay` `/api/token/{key}` takes.
const MAX_TOKEN_DELAY_MS: u64 = 60_000;

/// `/api/token/{key}?delay=MS`, a slow token server: answers `{"token": N}` (N: the
/// request's number for the key, from 1) after `delay` ms (0 by default), unless the
/// client goes away first (a fetch aborted). The key's report records which (`tokens`).
/// A client that shuts down its sending side after the request counts as gone too.
async fn token(mut stream: TcpStream, key: &str, delay: Option<&str>, state: &State) {
    let delay = match delay.map(str::parse::<u64>) {
        None => 0,
        Some(Ok(ms)) if ms <= MAX_TOKEN_DELAY_MS => ms,
        _ => {
            let resp = Response::text(400, format!("delay: at most {MAX_TOKEN_DELAY_MS} ms"));
            return respond_and_close(stream, &resp, false).await;
        }
    };
    let (id, number) = state.registry.token_requested(key);
    let outcome = {
        // A GET has no body: the next read ends only when the client closes or resets.
        let gone = async {
            let mut buf = [0u8; 512];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(delay)) => TokenOutcome::Given,
            () = gone => TokenOutcome::Aborted,
        }
    };
    state.registry.token_done(key, id, outcome);
    if outcome == TokenOutcome::Given {
        let resp = Response::json(&json!({ "token": number }));
        respond_and_close(stream, &resp, false).await;
    }
}

async fn route_http(req: &Request, body: &[u8], state: &State) -> Response {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match req.method.as_str() {
        "OPTIONS" => {
            return Response::empty(204)
                .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                .header("Access-Control-Allow-Headers", "*")
                .header("Access-Control-Max-Age", "600")
        }
        "GET" | "HEAD" => {}
        "POST" if segs == ["api", "bench", "result"] => {
            return match state.bench.add(body) {
                Ok(()) => Response::json(&json!({ "ok": true })),
                Err(msg) => Response::text(400, msg),
            }
        }
        _ => {
            return Response::text(405, "method not allowed").header("Allow", "GET, HEAD, OPTIONS")
        }
    }
    let registry = &state.registry;
    match segs.as_slice() {
        ["api", "health"] => Response::json(&json!({ "ok": true })),
        ["api", "report", key] => Response::json(&registry.report(key)),
        ["api", "drop", key] => Response::json(&json!({ "dropped": registry.drop_key(key) })),
        ["api", "reset", key] => {
            registry.reset(key);
            Response::json(&json!({ "ok": true }))
        }
        ["api", "close", key, code, rest @ ..] => {
            match ws::parse_close_params(code, &rest.join("/")) {
                Ok((code, reason)) => {
                    Response::json(&json!({ "closed": registry.close_key(key, code, &reason) }))
                }
                Err(msg) => Response::text(400, msg),
            }
        }
        ["api", "bench", "results"] => Response::json(&state.bench.all()),
        ["api", "bench", "cpu"] => Response::json(&bench::server_cpu()),
        ["api", "bench", "renderer-cpu"] => Response::json(&bench::renderer_cpu(
            req.query_param("session").and_then(|s| s.parse().ok()),
            req.query_param("reset_peak") == Some("1"),
        )),
        ["api", ..] => Response::text(404, format!("unknown API path: {}", req.raw_path)),
        _ if state.isolated => files::serve(&state.www, req)
            .await
            .header("Cross-Origin-Opener-Policy", "same-origin")
            .header("Cross-Origin-Embedder-Policy", "require-corp"),
        _ => files::serve(&state.www, req).await,
    }
}
