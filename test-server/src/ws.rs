//! WebSocket endpoints: the handshake (done by hand) and one behaviour per path.

use std::future::Future;
use std::io;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, sleep_until, Instant};
use tokio_tungstenite::WebSocketStream;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::Role;
use tungstenite::Message;

use crate::http::{respond_and_close, Request, Response};
use crate::registry::{CloseCommand, CloseReport, ClosedBy, ConnHandle, Signals, NO_STATUS_CODE};
use crate::{State, SUPPORTED_PROTOCOLS};

type Ws = WebSocketStream<TcpStream>;

/// How long the server waits for the client's reply to its close frame.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stalled connection is held at most.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// Pause between the last echo and the RST of `/drop-after/{n}`, so the
/// kernel has transmitted the echo before the reset discards its send queue.
const DROP_GRACE: Duration = Duration::from_millis(25);

/// Receive buffer asked for on `/stall` sockets, so the client's send side
/// fills up quickly.
const STALL_RECV_BUFFER: usize = 4096;

/// Largest binary message `/flood` will build.
const MAX_FLOOD_SIZE: usize = 16 * 1024 * 1024;

/// Largest message `/silent` reassembles before giving up on the connection.
const MAX_SILENT_MESSAGE: usize = 64 * 1024 * 1024;

/// Largest close reason that fits a close frame (125 bytes minus the code).
pub(crate) const MAX_CLOSE_REASON: usize = 123;

/// What a WebSocket path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Echo,
    /// Records every message and answers none; completes the closing handshake.
    Sink,
    Close {
        code: u16,
        reason: String,
    },
    DropAfter(u64),
    Silent,
    Stall,
    StallAfter(u64),
    Reject {
        n: u64,
        key: String,
    },
    Flood {
        n: u32,
        size: usize,
    },
    /// Never answers the handshake: the browser stays in CONNECTING.
    Hang,
    /// A STOMP broker that answers the first `CONNECT` with `CONNECTED` promising a
    /// heart-beat every `beat_ms` (0: none; [`STOMP_SILENT_CONNECTED`] for the default
    /// 500), then never sends anything.
    StompSilent {
        beat_ms: u32,
    },
    /// Accepts the STOMP subprotocol, records every message and never answers anything,
    /// `CONNECT` included: a proxy whose broker is gone, or a broker that hangs.
    StompMute,
    /// A STOMP broker that answers `CONNECT` with `CONNECTED` (no heart-beats) and every
    /// frame that asks for a receipt with its `RECEIPT`, except the first `SEND` that asks:
    /// that one's `RECEIPT` comes in one message behind a `MESSAGE` with an undefined
    /// escape ([`STOMP_GARBLED`]), so a client that skips what follows a bad frame never
    /// sees it.
    StompGarble,
    /// A STOMP broker that answers `CONNECT` with `CONNECTED` promising a heart-beat every
    /// 10 s (and sends none), and every `SUBSCRIBE` with a `MESSAGE` for it, body `hi`,
    /// split over three WebSocket messages, the second of them a lone EOL
    /// ([`STOMP_SPLIT`]): a client that takes every EOL-only message for a heart-beat
    /// loses it.
    StompSplit,
    /// A STOMP broker as the spec has it refuse a subscription: it answers `CONNECT` with
    /// `CONNECTED` (no heart-beats) and every frame that asks with its `RECEIPT`, but a
    /// `SUBSCRIBE` to a destination under `/refused` with an `ERROR` that names it
    /// (`receipt-id`), after which it closes the connection.
    StompRefuse,
    /// `/stomp-silent` that, once it has answered `CONNECT`, reads nothing more either: the
    /// client's frames pile up in its buffers (its receive buffer is shrunk, as for
    /// [`Route::Stall`]) until [`STALL_LIMIT`] or `/api/drop`.
    StompStall {
        beat_ms: u32,
    },
}

/// The three pieces of `/stomp-split`'s `MESSAGE`; `{id}` is the subscription's id.
pub const STOMP_SPLIT: [&str; 3] = [
    "MESSAGE\nsubscription:{id}\nmessage-id:1\ncontent-length:2\n",
    "\n",
    "hi\0",
];

/// What a scripted STOMP broker does beyond answering the first `CONNECT`.
#[derive(Clone, Copy, PartialEq)]
enum Script {
    /// Nothing.
    Silent,
    /// [`Route::StompGarble`].
    Garble,
    /// [`Route::StompSplit`].
    Split,
    /// [`Route::StompStall`].
    Stall,
    /// [`Route::StompRefuse`].
    Refuse,
}

/// What `/stomp-garble` sends before the `RECEIPT` of the first `SEND` that asks for one:
/// a frame whose header holds `\t`, an escape STOMP 1.2 does not define.
pub const STOMP_GARBLED: &str = "MESSAGE\nsubscription:0\nmessage-id:1\nx:\\t\n\n\0";

/// What `/stomp-silent` answers to the first `CONNECT` (or `STOMP`) frame of a connection:
/// a session in which the broker promises a heart-beat every 500 ms (and wants none), and
/// then sends nothing at all, so only a client that watches for heart-beats notices.
pub const STOMP_SILENT_CONNECTED: &str = "CONNECTED\nversion:1.2\nheart-beat:500,0\n\n\0";

/// The STOMP-over-WebSocket subprotocol `/stomp-silent` accepts.
const STOMP_PROTOCOL: &str = "v12.stomp";

/// Parses the route: `Ok(None)` for an unknown path, `Err` for a known path
/// with bad parameters.
fn parse_route(segments: &[String]) -> Result<Option<Route>, String> {
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let num = |s: &str, what: &str| -> Result<u64, String> {
        s.parse::<u64>().map_err(|_| format!("bad {what}: {s:?}"))
    };
    let route = match segs.as_slice() {
        ["echo"] => Route::Echo,
        ["sink"] => Route::Sink,
        ["close", code, rest @ ..] => {
            let (code, reason) = parse_close_params(code, &rest.join("/"))?;
            Route::Close { code, reason }
        }
        ["drop-after", n] => Route::DropAfter(num(n, "count")?),
        ["silent"] => Route::Silent,
        ["stall"] => Route::Stall,
        ["hang"] => Route::Hang,
        ["stomp-silent"] => Route::StompSilent { beat_ms: 500 },
        ["stomp-silent", ms] => Route::StompSilent {
            beat_ms: u32::try_from(num(ms, "heart-beat")?)
                .map_err(|_| format!("bad heart-beat: {ms:?}"))?,
        },
        ["stomp-mute"] => Route::StompMute,
        ["stomp-garble"] => Route::StompGarble,
        ["stomp-split"] => Route::StompSplit,
        ["stomp-refuse"] => Route::StompRefuse,
        ["stomp-stall", ms] => Route::StompStall {
            beat_ms: u32::try_from(num(ms, "heart-beat")?)
                .map_err(|_| format!("bad heart-beat: {ms:?}"))?,
        },
        ["stall-after", k] => Route::StallAfter(num(k, "count")?),
        ["reject", n, key] if !key.is_empty() => Route::Reject {
            n: num(n, "count")?,
            key: key.to_string(),
        },
        ["flood", n, size] => {
            let n = u32::try_from(num(n, "count")?).map_err(|_| "count too large".to_string())?;
            let size = usize::try_from(num(size, "size")?)
                .ok()
                .filter(|s| *s <= MAX_FLOOD_SIZE)
                .ok_or_else(|| format!("size above {MAX_FLOOD_SIZE}"))?;
            Route::Flood { n, size }
        }
        _ => return Ok(None),
    };
    Ok(Some(route))
}

/// Validates a close code and reason given in a path.
pub(crate) fn parse_close_params(code: &str, reason: &str) -> Result<(u16, String), String> {
    let code = code
        .parse::<u16>()
        .map_err(|_| format!("bad close code: {code:?}"))?;
    if reason.len() > MAX_CLOSE_REASON {
        return Err(format!("close reason longer than {MAX_CLOSE_REASON} bytes"));
    }
    Ok((code, reason.to_string()))
}

/// Picks the first offered subprotocol (client's order) that we support.
/// Returns `None` when nothing was offered or nothing offered is supported.
fn negotiate_protocol(req: &Request) -> Option<String> {
    offered(req)
        .find(|p| SUPPORTED_PROTOCOLS.contains(p))
        .map(str::to_string)
}

/// The subprotocols the client offered, in its order.
fn offered(req: &Request) -> impl Iterator<Item = &str> {
    req.header_values("sec-websocket-protocol")
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Handles a request that asked for a WebSocket upgrade.
pub(crate) async fn handle_upgrade(
    mut stream: TcpStream,
    leftover: Vec<u8>,
    req: Request,
    state: State,
) {
    let route = parse_route(&req.segments);
    let key = match &route {
        Ok(Some(Route::Reject { key, .. })) => Some(key.clone()),
        _ => req
            .query_param("key")
            .filter(|k| !k.is_empty())
            .map(str::to_string),
    };
    let attempts = key.as_deref().map(|k| state.registry.count_attempt(k));

    let Some(ws_key) = req.header("sec-websocket-key").filter(|k| !k.is_empty()) else {
        let resp = Response::text(400, "WebSocket upgrade without Sec-WebSocket-Key");
        return respond_and_close(stream, &resp, false).await;
    };
    if req.method != "GET" {
        let resp = Response::text(400, "WebSocket upgrade must use GET");
        return respond_and_close(stream, &resp, false).await;
    }
    if let Some(version) = req.header("sec-websocket-version") {
        if version.trim() != "13" {
            let resp = Response::text(426, "unsupported WebSocket version")
                .header("Sec-WebSocket-Version", "13");
            return respond_and_close(stream, &resp, false).await;
        }
    }
    let route = match route {
        Ok(Some(route)) => route,
        Ok(None) => {
            let resp = Response::text(404, format!("no WebSocket endpoint at {}", req.raw_path));
            return respond_and_close(stream, &resp, false).await;
        }
        Err(msg) => {
            let resp = Response::text(400, msg);
            return respond_and_close(stream, &resp, false).await;
        }
    };
    if let Route::Reject { n, .. } = &route {
        if attempts.unwrap_or(0) <= *n {
            let resp = Response::text(403, "rejected on purpose");
            return respond_and_close(stream, &resp, false).await;
        }
    }

    if route == Route::Hang {
        return hang(stream).await;
    }

    let protocol = if matches!(
        route,
        Route::StompSilent { .. }
            | Route::StompMute
            | Route::StompGarble
            | Route::StompSplit
            | Route::StompStall { .. }
            | Route::StompRefuse
    ) {
        offered(&req)
            .any(|p| p == STOMP_PROTOCOL)
            .then(|| STOMP_PROTOCOL.to_string())
    } else {
        negotiate_protocol(&req)
    };
    if matches!(route, Route::Stall | Route::StompStall { .. }) {
        if let Err(e) = socket2::SockRef::from(&stream).set_recv_buffer_size(STALL_RECV_BUFFER) {
            crate::log(format_args!("cannot shrink the receive buffer: {e}"));
        }
    }

    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(ws_key.as_bytes())
    );
    if let Some(p) = &protocol {
        response.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    response.push_str("\r\n");

    // Register before answering, so a client that sees `open` also sees the
    // connection in its report.
    let (conn, signals) = state.registry.register(key.as_deref(), protocol);
    if let Err(e) = stream.write_all(response.as_bytes()).await {
        crate::log(format_args!("writing the 101 response failed: {e}"));
        conn.finish(CloseReport::dropped());
        return;
    }

    run_behaviour(stream, leftover, route, conn, signals).await;
}

/// Holds the connection without answering until the client gives up (or 60 s pass).
async fn hang(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// How a behaviour ended.
struct Ended {
    close: CloseReport,
    /// Whether to drop with a RST rather than a FIN.
    abrupt: bool,
}

impl Ended {
    fn graceful(close: CloseReport) -> Self {
        Ended {
            close,
            abrupt: false,
        }
    }

    fn abrupt() -> Self {
        Ended {
            close: CloseReport::dropped(),
            abrupt: true,
        }
    }
}

/// Runs `fut` until it ends or the connection is told to drop.
async fn race_drop(drop: &Notify, fut: impl Future<Output = Ended>) -> Ended {
    tokio::select! {
        biased;
        _ = drop.notified() => Ended::abrupt(),
        ended = fut => ended,
    }
}

/// Records the end, then closes the socket (with a RST when abrupt).
fn finish(conn: &ConnHandle, tcp: &TcpStream, ended: Ended) {
    conn.finish(ended.close);
    if ended.abrupt {
        if let Err(e) = tcp.set_zero_linger() {
            crate::log(format_args!("cannot set SO_LINGER 0: {e}"));
        }
    }
}

async fn into_ws(stream: TcpStream, leftover: Vec<u8>) -> Ws {
    if leftover.is_empty() {
        WebSocketStream::from_raw_socket(stream, Role::Server, None).await
    } else {
        WebSocketStream::from_partially_read(stream, leftover, Role::Server, None).await
    }
}

async fn run_behaviour(
    stream: TcpStream,
    leftover: Vec<u8>,
    route: Route,
    conn: ConnHandle,
    signals: Signals,
) {
    let Signals { drop, mut close_rx } = signals;
    match route {
        // Answered before the handshake in handle_upgrade.
        Route::Hang => {}
        // `/stomp-mute` is `/silent` for STOMP clients: only the subprotocol differs.
        Route::Silent | Route::StompMute => {
            // Never writes, so it cannot honour /api/close.
            std::mem::drop(close_rx);
            let mut stream = stream;
            let ended = race_drop(&drop, silent(&mut stream, leftover, &conn)).await;
            finish(&conn, &stream, ended);
        }
        Route::StompSilent { beat_ms } => {
            // Never sends after CONNECTED, so it cannot honour /api/close.
            std::mem::drop(close_rx);
            let mut ws = into_ws(stream, leftover).await;
            let ended =
                race_drop(&drop, stomp_silent(&mut ws, &conn, beat_ms, Script::Silent)).await;
            finish(&conn, ws.get_ref(), ended);
        }
        Route::StompGarble | Route::StompSplit | Route::StompStall { .. } | Route::StompRefuse => {
            std::mem::drop(close_rx);
            let (beat_ms, script) = match route {
                Route::StompGarble => (0, Script::Garble),
                Route::StompRefuse => (0, Script::Refuse),
                Route::StompStall { beat_ms } => (beat_ms, Script::Stall),
                _ => (10_000, Script::Split),
            };
            let mut ws = into_ws(stream, leftover).await;
            let ended = race_drop(&drop, stomp_silent(&mut ws, &conn, beat_ms, script)).await;
            finish(&conn, ws.get_ref(), ended);
        }
        Route::Stall => {
            std::mem::drop(close_rx);
            let ended = race_drop(&drop, stall(&stream)).await;
            finish(&conn, &stream, ended);
        }
        Route::DropAfter(0) => finish(&conn, &stream, Ended::abrupt()),
        Route::DropAfter(n) => {
            let mut ws = into_ws(stream, leftover).await;
            let ended = race_drop(&drop, async {
                match echo_loop(&mut ws, &conn, &mut close_rx, Some(n), None, true).await {
                    EchoEnd::Ended(ended) => ended,
                    EchoEnd::LimitReached => {
                        sleep(DROP_GRACE).await;
                        Ended::abrupt()
                    }
                }
            })
            .await;
            finish(&conn, ws.get_ref(), ended);
        }
        Route::StallAfter(k) => {
            let mut ws = into_ws(stream, leftover).await;
            let ended = race_drop(&drop, async {
                match echo_loop(&mut ws, &conn, &mut close_rx, Some(k), None, true).await {
                    EchoEnd::Ended(ended) => ended,
                    EchoEnd::LimitReached => {
                        close_rx.close();
                        stall(ws.get_ref()).await
                    }
                }
            })
            .await;
            finish(&conn, ws.get_ref(), ended);
        }
        route @ (Route::Echo | Route::Reject { .. } | Route::Sink) => {
            let answer = route != Route::Sink;
            let mut ws = into_ws(stream, leftover).await;
            let ended = race_drop(&drop, async {
                echo_loop(&mut ws, &conn, &mut close_rx, None, None, answer)
                    .await
                    .into_ended()
            })
            .await;
            finish(&conn, ws.get_ref(), ended);
        }
        Route::Close { code, reason } => {
            let mut ws = into_ws(stream, leftover).await;
            let first = CloseCommand { code, reason };
            let ended = race_drop(&drop, async {
                echo_loop(&mut ws, &conn, &mut close_rx, None, Some(first), true)
                    .await
                    .into_ended()
            })
            .await;
            finish(&conn, ws.get_ref(), ended);
        }
        Route::Flood { n, size } => {
            let mut ws = into_ws(stream, leftover).await;
            let ended = race_drop(&drop, async {
                if let Err(e) = flood(&mut ws, n, size).await {
                    crate::log(format_args!("flood interrupted: {e}"));
                    return Ended::graceful(CloseReport::dropped());
                }
                echo_loop(&mut ws, &conn, &mut close_rx, None, None, true)
                    .await
                    .into_ended()
            })
            .await;
            finish(&conn, ws.get_ref(), ended);
        }
    }
}

/// Sends `n` binary messages of `size` bytes, then the text `done`.
async fn flood(ws: &mut Ws, n: u32, size: usize) -> Result<(), tungstenite::Error> {
    for i in 0..n {
        let mut payload = vec![(i % 251) as u8; size];
        if size >= 4 {
            payload[..4].copy_from_slice(&i.to_be_bytes());
        }
        ws.feed(Message::binary(payload)).await?;
    }
    ws.feed(Message::text("done")).await?;
    ws.flush().await
}

enum EchoEnd {
    Ended(Ended),
    LimitReached,
}

impl EchoEnd {
    fn into_ended(self) -> Ended {
        match self {
            EchoEnd::Ended(ended) => ended,
            // Only reachable with a limit, which these callers do not pass.
            EchoEnd::LimitReached => Ended::abrupt(),
        }
    }
}

/// Echoes and records text and binary messages.
///
/// * `limit`: return [`EchoEnd::LimitReached`] after echoing that many messages.
/// * `initial_close`: send this close frame first and wait for the reply.
/// * `answer`: echo; `false` only records (`/sink`).
///
/// Close requests from `close_rx` send a close frame; the connection then
/// ends when the client replies or after [`CLOSE_REPLY_TIMEOUT`].
async fn echo_loop(
    ws: &mut Ws,
    conn: &ConnHandle,
    close_rx: &mut mpsc::UnboundedReceiver<CloseCommand>,
    limit: Option<u64>,
    initial_close: Option<CloseCommand>,
    answer: bool,
) -> EchoEnd {
    if limit == Some(0) {
        return EchoEnd::LimitReached;
    }
    let mut echoed = 0u64;
    // Set once we sent a close frame: what to record and when to give up.
    let mut closing: Option<(CloseReport, Instant)> = None;
    // Set once the client's close frame arrived.
    let mut client_close: Option<CloseReport> = None;
    let mut rx_open = true;

    let ended_report = |closing: &Option<(CloseReport, Instant)>,
                        client_close: &Option<CloseReport>| {
        closing
            .as_ref()
            .map(|(r, _)| r.clone())
            .or_else(|| client_close.clone())
            .unwrap_or_else(CloseReport::dropped)
    };

    if let Some(cmd) = initial_close {
        match send_close(ws, &cmd).await {
            Ok(report) => closing = Some((report, Instant::now() + CLOSE_REPLY_TIMEOUT)),
            Err(_) => return EchoEnd::Ended(Ended::graceful(CloseReport::dropped())),
        }
    }

    loop {
        let deadline = closing.as_ref().map(|(_, d)| *d);
        tokio::select! {
            msg = ws.next() => match msg {
                None | Some(Err(_)) => {
                    return EchoEnd::Ended(Ended::graceful(ended_report(&closing, &client_close)));
                }
                Some(Ok(Message::Text(text))) => {
                    conn.record_text(text.as_str());
                    if answer && closing.is_none() && client_close.is_none() {
                        if ws.send(Message::Text(text)).await.is_err() {
                            return EchoEnd::Ended(Ended::graceful(CloseReport::dropped()));
                        }
                        echoed += 1;
                        if limit == Some(echoed) {
                            return EchoEnd::LimitReached;
                        }
                    }
                }
                Some(Ok(Message::Binary(data))) => {
                    conn.record_binary(&data);
                    if answer && closing.is_none() && client_close.is_none() {
                        if ws.send(Message::Binary(data)).await.is_err() {
                            return EchoEnd::Ended(Ended::graceful(CloseReport::dropped()));
                        }
                        echoed += 1;
                        if limit == Some(echoed) {
                            return EchoEnd::LimitReached;
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    if let Some((report, _)) = &closing {
                        // The reply to our close: the handshake is complete.
                        conn.finish(report.clone());
                    } else {
                        let report = client_close_report(frame);
                        conn.finish(report.clone());
                        client_close = Some(report);
                    }
                    // Keep polling: tungstenite sends our reply on the next
                    // read and then reports the end of the stream.
                }
                // Pongs are queued by tungstenite and sent on the next read.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            },
            cmd = close_rx.recv(), if rx_open && closing.is_none() && client_close.is_none() => {
                match cmd {
                    Some(cmd) => match send_close(ws, &cmd).await {
                        Ok(report) => closing = Some((report, Instant::now() + CLOSE_REPLY_TIMEOUT)),
                        Err(_) => return EchoEnd::Ended(Ended::graceful(CloseReport::dropped())),
                    },
                    None => rx_open = false,
                }
            },
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                return EchoEnd::Ended(Ended::graceful(ended_report(&closing, &client_close)));
            },
        }
    }
}

/// What a close frame from the client says (1005 when it carried no code).
fn client_close_report(frame: Option<CloseFrame>) -> CloseReport {
    match frame {
        Some(f) => CloseReport {
            code: f.code.into(),
            reason: f.reason.as_str().to_string(),
            by: ClosedBy::Client,
        },
        None => CloseReport {
            code: NO_STATUS_CODE,
            reason: String::new(),
            by: ClosedBy::Client,
        },
    }
}

async fn send_close(ws: &mut Ws, cmd: &CloseCommand) -> Result<CloseReport, tungstenite::Error> {
    let frame = CloseFrame {
        code: cmd.code.into(),
        reason: cmd.reason.clone().into(),
    };
    ws.close(Some(frame)).await?;
    Ok(CloseReport {
        code: cmd.code,
        reason: cmd.reason.clone(),
        by: ClosedBy::Server,
    })
}

/// Whether a message starts (after heart-beat EOLs) with a `CONNECT` or `STOMP` frame.
fn is_stomp_connect(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(data.len());
    let data = &data[start..];
    [b"CONNECT".as_slice(), b"STOMP"].iter().any(|command| {
        data.strip_prefix(*command)
            .is_some_and(|rest| rest.starts_with(b"\n") || rest.starts_with(b"\r\n"))
    })
}

/// The command and one header (the first of that name) of each frame in `data` that has
/// it (client frames carry no NUL in their bodies here, so NUL ends each frame).
fn stomp_headers(data: &[u8], name: &str) -> Vec<(String, String)> {
    let prefix = format!("{name}:");
    String::from_utf8_lossy(data)
        .split('\0')
        .filter_map(|frame| {
            let mut lines = frame.trim_start_matches(['\r', '\n']).lines();
            let command = lines.next()?.to_owned();
            let value = lines
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix(prefix.as_str()))?;
            Some((command, value.to_owned()))
        })
        .collect()
}

/// What `/stomp-silent/{beat_ms}` answers to the first `CONNECT`.
pub(crate) fn stomp_silent_connected(beat_ms: u32) -> String {
    format!("CONNECTED\nversion:1.2\nheart-beat:{beat_ms},0\n\n\0")
}

/// `/stomp-silent[/{beat_ms}]`: records every message, answers the first `CONNECT` with
/// `CONNECTED` promising a heart-beat every `beat_ms` (none if 0), and sends nothing else
/// (only tungstenite's reply to a close); `/stomp-garble` and `/stomp-split` follow their
/// `script`.
async fn stomp_silent(ws: &mut Ws, conn: &ConnHandle, beat_ms: u32, script: Script) -> Ended {
    let mut answered = false;
    let mut garbled = false;
    let mut client_close = None;
    while let Some(message) = ws.next().await {
        let data = match message {
            Ok(Message::Text(text)) => {
                conn.record_text(text.as_str());
                text.as_bytes().to_vec()
            }
            Ok(Message::Binary(data)) => {
                conn.record_binary(&data);
                data.to_vec()
            }
            Ok(Message::Close(frame)) => {
                let report = client_close_report(frame);
                conn.finish(report.clone());
                client_close = Some(report);
                continue;
            }
            Ok(_) => continue,
            Err(_) => break,
        };
        if !answered && is_stomp_connect(&data) {
            answered = true;
            if ws
                .send(Message::text(stomp_silent_connected(beat_ms)))
                .await
                .is_err()
            {
                break;
            }
            if matches!(script, Script::Stall) {
                // Read nothing more: what the client sends stays in its buffers.
                sleep(STALL_LIMIT).await;
                return Ended::abrupt();
            }
            continue;
        }
        let mut replies = Vec::new();
        let mut refusal = None;
        match script {
            Script::Silent | Script::Stall => {}
            Script::Garble => {
                for (command, receipt) in stomp_headers(&data, "receipt") {
                    let mut reply = String::new();
                    if command == "SEND" && !garbled {
                        garbled = true;
                        reply.push_str(STOMP_GARBLED);
                    }
                    reply.push_str(&format!("RECEIPT\nreceipt-id:{receipt}\n\n\0"));
                    replies.push(reply);
                }
            }
            Script::Refuse => {
                let text = String::from_utf8_lossy(&data);
                for frame in text.split('\0') {
                    let mut lines = frame.trim_start_matches(['\r', '\n']).lines();
                    let Some(command) = lines.next() else {
                        continue;
                    };
                    let headers: Vec<(&str, &str)> = lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| l.split_once(':'))
                        .collect();
                    let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|h| h.1);
                    match (command, get("destination"), get("receipt")) {
                        ("SUBSCRIBE", Some(d), receipt) if d.starts_with("/refused") => {
                            let id = receipt.map(|r| format!("receipt-id:{r}\n"));
                            refusal = Some(format!(
                                "ERROR\n{}message:refused\n\n{d} is refused\0",
                                id.unwrap_or_default()
                            ));
                            break;
                        }
                        (_, _, Some(r)) => replies.push(format!("RECEIPT\nreceipt-id:{r}\n\n\0")),
                        _ => {}
                    }
                }
            }
            Script::Split => {
                for (command, id) in stomp_headers(&data, "id") {
                    if command == "SUBSCRIBE" {
                        replies.extend(STOMP_SPLIT.iter().map(|p| p.replace("{id}", &id)));
                    }
                }
            }
        }
        for reply in replies {
            if ws.send(Message::text(reply)).await.is_err() {
                return Ended::graceful(client_close.unwrap_or_else(CloseReport::dropped));
            }
        }
        if let Some(error) = refusal {
            // As the spec has it: the connection closes after an ERROR.
            let _ = ws.send(Message::text(error)).await;
            let _ = ws.close(None).await;
        }
    }
    Ended::graceful(client_close.unwrap_or_else(CloseReport::dropped))
}

/// Holds the connection without reading until the client goes away or
/// [`STALL_LIMIT`] passes; always ends abruptly.
///
/// Detects the client going away through socket readiness alone: read-closed
/// (FIN) or hang-up (RST). Plain "data available" readiness is cleared and
/// waited for again, so unread data never causes a busy loop.
async fn stall(tcp: &TcpStream) -> Ended {
    let deadline = Instant::now() + STALL_LIMIT;
    loop {
        tokio::select! {
            ready = tcp.ready(Interest::READABLE) => match ready {
                Ok(r) if r.is_read_closed() => return Ended::abrupt(),
                Ok(_) => {
                    let _ = tcp.try_io(Interest::READABLE, || {
                        Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
                    });
                }
                Err(_) => return Ended::abrupt(),
            },
            _ = sleep_until(deadline) => return Ended::abrupt(),
        }
    }
}

/// One parsed frame of the `/silent` reader.
struct RawFrame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// Reads and records frames with a hand-rolled parser and never writes, so
/// pings stay unanswered (tungstenite would flush automatic pongs on read).
async fn silent(stream: &mut TcpStream, mut buf: Vec<u8>, conn: &ConnHandle) -> Ended {
    let mut partial: Option<(u8, Vec<u8>)> = None;
    let mut client_close: Option<CloseReport> = None;
    loop {
        let frame = match read_raw_frame(stream, &mut buf).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    crate::log(format_args!("/silent: {e}"));
                }
                break;
            }
        };
        match frame.opcode {
            0x1 | 0x2 => {
                if frame.fin {
                    record_message(conn, frame.opcode, &frame.payload);
                } else {
                    partial = Some((frame.opcode, frame.payload));
                }
            }
            0x0 => {
                let Some((opcode, mut data)) = partial.take() else {
                    crate::log(format_args!("/silent: continuation without a message"));
                    break;
                };
                data.extend_from_slice(&frame.payload);
                if data.len() > MAX_SILENT_MESSAGE {
                    crate::log(format_args!("/silent: message too large"));
                    break;
                }
                if frame.fin {
                    record_message(conn, opcode, &data);
                } else {
                    partial = Some((opcode, data));
                }
            }
            0x8 if client_close.is_none() => {
                let report = if frame.payload.len() >= 2 {
                    CloseReport {
                        code: u16::from_be_bytes([frame.payload[0], frame.payload[1]]),
                        reason: String::from_utf8_lossy(&frame.payload[2..]).into_owned(),
                        by: ClosedBy::Client,
                    }
                } else {
                    CloseReport {
                        code: NO_STATUS_CODE,
                        reason: String::new(),
                        by: ClosedBy::Client,
                    }
                };
                conn.finish(report.clone());
                client_close = Some(report);
            }
            // Pings, pongs, repeated closes: ignored, never answered.
            _ => {}
        }
    }
    Ended::graceful(client_close.unwrap_or_else(CloseReport::dropped))
}

fn record_message(conn: &ConnHandle, opcode: u8, data: &[u8]) {
    if opcode == 0x1 {
        conn.record_text(&String::from_utf8_lossy(data));
    } else {
        conn.record_binary(data);
    }
}

/// Reads until `buf` holds at least `need` bytes; `false` on EOF.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, need: usize) -> io::Result<bool> {
    let mut chunk = [0u8; 8192];
    while buf.len() < need {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(true)
}

/// Reads one frame; `Ok(None)` on EOF.
async fn read_raw_frame(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<RawFrame>> {
    if !fill(stream, buf, 2).await? {
        return Ok(None);
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0f;
    let masked = buf[1] & 0x80 != 0;
    let len7 = buf[1] & 0x7f;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask_len = if masked { 4 } else { 0 };
    if !fill(stream, buf, 2 + ext + mask_len).await? {
        return Ok(None);
    }
    let len: u64 = match ext {
        2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            u64::from_be_bytes(b)
        }
        _ => u64::from(len7),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= MAX_SILENT_MESSAGE)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
    let header = 2 + ext + mask_len;
    if !fill(stream, buf, header + len).await? {
        return Ok(None);
    }
    let mut payload: Vec<u8> = buf[header..header + len].to_vec();
    if masked {
        let mask = [buf[2 + ext], buf[3 + ext], buf[4 + ext], buf[5 + ext]];
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    buf.drain(..header + len);
    Ok(Some(RawFrame {
        fin,
        opcode,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').map(str::to_string).collect()
    }

    #[test]
    fn routes() {
        assert_eq!(parse_route(&segs("echo")), Ok(Some(Route::Echo)));
        assert_eq!(
            parse_route(&segs("close/4001/bye")),
            Ok(Some(Route::Close {
                code: 4001,
                reason: "bye".into()
            }))
        );
        assert_eq!(
            parse_route(&segs("close/1000")),
            Ok(Some(Route::Close {
                code: 1000,
                reason: String::new()
            }))
        );
        assert!(parse_route(&segs("close/x/bye")).is_err());
        assert!(parse_route(&segs(&format!("close/1000/{}", "a".repeat(124)))).is_err());
        assert_eq!(
            parse_route(&segs("drop-after/2")),
            Ok(Some(Route::DropAfter(2)))
        );
        assert_eq!(parse_route(&segs("stall")), Ok(Some(Route::Stall)));
        assert_eq!(
            parse_route(&segs("stall-after/3")),
            Ok(Some(Route::StallAfter(3)))
        );
        assert_eq!(parse_route(&segs("silent")), Ok(Some(Route::Silent)));
        assert_eq!(parse_route(&segs("sink")), Ok(Some(Route::Sink)));
        assert_eq!(
            parse_route(&segs("stomp-silent")),
            Ok(Some(Route::StompSilent { beat_ms: 500 }))
        );
        assert_eq!(
            parse_route(&segs("stomp-silent/0")),
            Ok(Some(Route::StompSilent { beat_ms: 0 }))
        );
        assert_eq!(stomp_silent_connected(500), STOMP_SILENT_CONNECTED);
        assert!(parse_route(&segs("stomp-silent/x")).is_err());
        assert_eq!(parse_route(&segs("stomp-mute")), Ok(Some(Route::StompMute)));
        assert_eq!(
            parse_route(&segs("stomp-garble")),
            Ok(Some(Route::StompGarble))
        );
        assert_eq!(
            parse_route(&segs("stomp-split")),
            Ok(Some(Route::StompSplit))
        );
        assert_eq!(
            parse_route(&segs("stomp-stall/300")),
            Ok(Some(Route::StompStall { beat_ms: 300 }))
        );
        assert!(parse_route(&segs("stomp-stall/x")).is_err());
        assert_eq!(
            parse_route(&segs("stomp-refuse")),
            Ok(Some(Route::StompRefuse))
        );
        assert_eq!(
            stomp_headers(b"SEND\ndestination:/q\nreceipt:r-1\n\nhi\0\nBEGIN\ntransaction:t\n\n\0ABORT\ntransaction:t\nreceipt:p-2\n\n\0", "receipt"),
            [("SEND".to_owned(), "r-1".to_owned()), ("ABORT".to_owned(), "p-2".to_owned())]
        );
        assert_eq!(parse_route(&segs("stomp-mute/0")), Ok(None));
        assert_eq!(
            parse_route(&segs("stomp-silent")),
            Ok(Some(Route::StompSilent { beat_ms: 500 }))
        );
        assert_eq!(
            parse_route(&segs("reject/2/k")),
            Ok(Some(Route::Reject {
                n: 2,
                key: "k".into()
            }))
        );
        assert_eq!(
            parse_route(&segs("flood/3/8")),
            Ok(Some(Route::Flood { n: 3, size: 8 }))
        );
        assert!(parse_route(&segs("flood/3/999999999999")).is_err());
        assert_eq!(parse_route(&segs("nope")), Ok(None));
        assert_eq!(parse_route(&segs("echo/extra")), Ok(None));
    }

    #[test]
    fn stomp_connect_frames() {
        assert!(is_stomp_connect(b"CONNECT\naccept-version:1.2\n\n\0"));
        assert!(is_stomp_connect(b"\n\r\nSTOMP\r\nhost:/\r\n\r\n\0"));
        assert!(!is_stomp_connect(b"CONNECTED\n\n\0"));
        assert!(!is_stomp_connect(b"SEND\ndestination:/q\n\nCONNECT\n\0"));
        assert!(!is_stomp_connect(b"\n"));
        assert!(!is_stomp_connect(b"CONNECT"));
    }
}
