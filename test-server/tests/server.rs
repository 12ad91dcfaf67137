//! End-to-end tests: the server runs in-process on an ephemeral port and is
//! driven by a tokio-tungstenite client and raw HTTP requests.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use resocket_test_server::{run, CloseReport, ClosedBy, Report, State, TokenOutcome};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for any single step, so a broken server fails fast instead of hanging.
const STEP: Duration = Duration::from_secs(3);

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .expect("step timed out")
}

struct Server {
    port: u16,
    www: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(parent) = self.www.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

/// Starts a server with a fresh static root holding a few files, plus a
/// `secret.txt` next to (outside) the root.
async fn start() -> Server {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir().join(format!(
        "resocket-test-server-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let www = base.join("www");
    std::fs::create_dir_all(www.join("pkg")).expect("create www");
    std::fs::write(www.join("index.html"), "<!doctype html><title>t</title>").expect("write");
    std::fs::write(www.join("pkg/app.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(www.join("pkg/app.js"), "export {};").expect("write");
    std::fs::write(base.join("secret.txt"), "secret").expect("write");

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(run(listener, State::new(www.clone())));
    Server { port, www }
}

impl Server {
    fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }

    async fn connect(&self, path: &str) -> Client {
        let (ws, _resp) = bounded(connect_async(self.ws_url(path)))
            .await
            .expect("websocket connects");
        ws
    }

    /// Sends a raw request and returns (status, head, body).
    async fn raw(&self, request: &str) -> (u16, String, Vec<u8>) {
        bounded(async {
            let mut s = TcpStream::connect(("127.0.0.1", self.port))
                .await
                .expect("connect");
            s.write_all(request.as_bytes()).await.expect("write");
            let mut out = Vec::new();
            let mut chunk = [0u8; 4096];
            let split = loop {
                if let Some(pos) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                    break pos;
                }
                let n = s.read(&mut chunk).await.expect("read");
                assert!(n > 0, "connection closed before the response head ended");
                out.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&out[..split]).into_owned();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status code");
            if status != 101 {
                // Every non-upgrade response closes the connection.
                s.read_to_end(&mut out).await.expect("read");
            }
            let body = out[split + 4..].to_vec();
            (status, head, body)
        })
        .await
    }

    async fn get(&self, path: &str) -> (u16, String, Vec<u8>) {
        self.raw(&format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
            .await
    }

    async fn get_json(&self, path: &str) -> Value {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}");
        serde_json::from_slice(&body).expect("JSON body")
    }

    async fn report(&self, key: &str) -> Report {
        let value = self.get_json(&format!("/api/report/{key}")).await;
        serde_json::from_value(value).expect("report shape")
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads until the stream ends; returns the close frames seen and whether it
/// ended with an error (as a reset or an abrupt EOF does).
async fn drain(ws: &mut Client) -> (Vec<Option<CloseFrame>>, bool) {
    bounded(async {
        let mut closes = Vec::new();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => closes.push(frame),
                Some(Ok(_)) => {}
                Some(Err(_)) => return (closes, true),
                None => return (closes, false),
            }
        }
    })
    .await
}

async fn next_msg(ws: &mut Client) -> Message {
    bounded(ws.next())
        .await
        .expect("stream open")
        .expect("message")
}

fn by(code: u16, reason: &str, by: ClosedBy) -> Option<CloseReport> {
    Some(CloseReport {
        code,
        reason: reason.to_string(),
        by,
    })
}

#[tokio::test]
async fn echo_records_and_echoes() {
    let srv = start().await;
    let mut ws = srv.connect("/echo?key=echo1").await;
    let open = srv.report("echo1").await;
    assert_eq!(open.attempts, 1);
    assert_eq!(open.connections.len(), 1);
    assert_eq!(open.connections[0].close, None);

    ws.send(Message::text("hello")).await.expect("send");
    assert_eq!(next_msg(&mut ws).await, Message::text("hello"));
    let bin: Vec<u8> = (1..=10).collect();
    ws.send(Message::binary(bin.clone())).await.expect("send");
    assert_eq!(next_msg(&mut ws).await, Message::binary(bin));
    ws.send(Message::Ping(vec![7].into())).await.expect("ping");
    assert_eq!(next_msg(&mut ws).await, Message::Pong(vec![7].into()));

    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    }))
    .await
    .expect("close");
    let (closes, errored) = drain(&mut ws).await;
    assert_eq!(closes.len(), 1, "server replied to the close");
    assert!(!errored);

    let report = srv.report("echo1").await;
    assert_eq!(report.attempts, 1);
    let conn = &report.connections[0];
    assert_eq!(conn.received, vec!["hello", "bin:10:0102030405060708"]);
    assert_eq!(conn.protocol, None);
    assert_eq!(conn.close, by(1000, "done", ClosedBy::Client));

    // Without a key nothing is recorded, but echo still works.
    let mut anon = srv.connect("/echo").await;
    anon.send(Message::text("x")).await.expect("send");
    assert_eq!(next_msg(&mut anon).await, Message::text("x"));
}

#[tokio::test]
async fn subprotocol_picks_first_supported_offer() {
    let srv = start().await;
    let mut req = srv
        .ws_url("/echo?key=proto")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "chat, v2.resocket, v1.resocket".parse().expect("header"),
    );
    let (_ws, resp) = bounded(connect_async(req)).await.expect("connects");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("v2.resocket")
    );
    let report = srv.report("proto").await;
    assert_eq!(
        report.connections[0].protocol.as_deref(),
        Some("v2.resocket")
    );

    // Offers spread over several header lines count in order.
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let (status, head, _) = srv
        .raw(&format!(
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v1.resocket, v2.resocket\r\n\r\n"
        ))
        .await;
    assert_eq!(status, 101);
    assert_eq!(
        header(&head, "sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(header(&head, "sec-websocket-protocol"), Some("v1.resocket"));

    // Nothing supported: no protocol header at all.
    let (status, head, _) = srv
        .raw(&format!(
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"
        ))
        .await;
    assert_eq!(status, 101);
    assert_eq!(header(&head, "sec-websocket-protocol"), None);
}

#[tokio::test]
async fn close_endpoint_sends_code_and_reason() {
    let srv = start().await;
    let mut ws = srv.connect("/close/4001/bye?key=close1").await;
    let (closes, errored) = drain(&mut ws).await;
    assert!(!errored);
    let frame = closes
        .into_iter()
        .next()
        .flatten()
        .expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 4001);
    assert_eq!(frame.reason.as_str(), "bye");
    let report = srv.report("close1").await;
    assert_eq!(
        report.connections[0].close,
        by(4001, "bye", ClosedBy::Server)
    );

    // The reason is percent-decoded.
    let mut ws = srv.connect("/close/4002/see%20you%2Fsoon").await;
    let (closes, _) = drain(&mut ws).await;
    let frame = closes.into_iter().next().flatten().expect("close frame");
    assert_eq!(frame.reason.as_str(), "see you/soon");
}

#[tokio::test]
async fn api_close_closes_open_connections() {
    let srv = start().await;
    let mut ws = srv.connect("/echo?key=apiclose").await;
    let v = srv.get_json("/api/close/apiclose/1012/restart").await;
    assert_eq!(v["closed"], 1);
    let (closes, errored) = drain(&mut ws).await;
    assert!(!errored);
    let frame = closes.into_iter().next().flatten().expect("close frame");
    assert_eq!(u16::from(frame.code), 1012);
    assert_eq!(frame.reason.as_str(), "restart");
    let report = srv.report("apiclose").await;
    assert_eq!(
        report.connections[0].close,
        by(1012, "restart", ClosedBy::Server)
    );
    let v = srv.get_json("/api/close/apiclose/1012/restart").await;
    assert_eq!(v["closed"], 0);
}

#[tokio::test]
async fn drop_after_ends_without_close_frame() {
    let srv = start().await;
    let mut ws = srv.connect("/drop-after/2?key=drop2").await;
    for m in ["a", "b"] {
        ws.send(Message::text(m)).await.expect("send");
        assert_eq!(next_msg(&mut ws).await, Message::text(m));
    }
    let (closes, _) = drain(&mut ws).await;
    assert!(closes.is_empty(), "no close frame on an abrupt drop");
    let report = srv.report("drop2").await;
    assert_eq!(report.connections[0].received, vec!["a", "b"]);
    assert_eq!(report.connections[0].close, by(1006, "", ClosedBy::Drop));

    let mut ws = srv.connect("/drop-after/0").await;
    let (closes, _) = drain(&mut ws).await;
    assert!(closes.is_empty());
}

#[tokio::test]
async fn reject_fails_then_succeeds() {
    let srv = start().await;
    for _ in 0..2 {
        match bounded(connect_async(srv.ws_url("/reject/2/rej"))).await {
            Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("should have been rejected"),
        }
    }
    let mut ws = srv.connect("/reject/2/rej").await;
    ws.send(Message::text("finally")).await.expect("send");
    assert_eq!(next_msg(&mut ws).await, Message::text("finally"));
    let report = srv.report("rej").await;
    assert_eq!(report.attempts, 3);
    assert_eq!(report.connections.len(), 1);
    assert_eq!(report.connections[0].received, vec!["finally"]);
}

#[tokio::test]
async fn flood_sends_messages_then_done() {
    let srv = start().await;
    let mut ws = srv.connect("/flood/3/8").await;
    for i in 0u8..3 {
        let expected = vec![0, 0, 0, i, i, i, i, i];
        assert_eq!(next_msg(&mut ws).await, Message::binary(expected));
    }
    assert_eq!(next_msg(&mut ws).await, Message::text("done"));
    // Then it echoes and closes normally.
    ws.send(Message::text("after")).await.expect("send");
    assert_eq!(next_msg(&mut ws).await, Message::text("after"));
    ws.close(None).await.expect("close");
    let (closes, errored) = drain(&mut ws).await;
    assert_eq!(closes.len(), 1);
    assert!(!errored);

    // Tiny messages: just the fill byte.
    let mut ws = srv.connect("/flood/2/2").await;
    assert_eq!(next_msg(&mut ws).await, Message::binary(vec![0, 0]));
    assert_eq!(next_msg(&mut ws).await, Message::binary(vec![1, 1]));
    assert_eq!(next_msg(&mut ws).await, Message::text("done"));
}

#[tokio::test]
async fn api_drop_ends_stalled_connection() {
    let srv = start().await;
    let mut ws = srv.connect("/stall?key=stall1").await;
    // Writes still succeed (they only fill buffers).
    ws.send(Message::text("into the void")).await.expect("send");
    let v = srv.get_json("/api/drop/stall1").await;
    assert_eq!(v["dropped"], 1);
    let (closes, _) = drain(&mut ws).await;
    assert!(closes.is_empty(), "no close frame on an abrupt drop");
    let report = srv.report("stall1").await;
    assert_eq!(report.connections[0].close, by(1006, "", ClosedBy::Drop));
    assert_eq!(report.connections[0].received, Vec::<String>::new());
    let v = srv.get_json("/api/drop/stall1").await;
    assert_eq!(v["dropped"], 0);

    // stall-after echoes first, then stalls until dropped.
    let mut ws = srv.connect("/stall-after/1?key=stall2").await;
    ws.send(Message::text("one")).await.expect("send");
    assert_eq!(next_msg(&mut ws).await, Message::text("one"));
    ws.send(Message::text("two")).await.expect("send");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), ws.next())
            .await
            .is_err(),
        "no echo after the limit"
    );
    let v = srv.get_json("/api/drop/stall2").await;
    assert_eq!(v["dropped"], 1);
    let (closes, _) = drain(&mut ws).await;
    assert!(closes.is_empty());
    assert_eq!(
        srv.report("stall2").await.connections[0].received,
        vec!["one"]
    );
}

#[tokio::test]
async fn stall_notices_client_going_away() {
    let srv = start().await;
    let ws = srv.connect("/stall?key=gone").await;
    drop(ws);
    bounded(async {
        loop {
            if srv.report("gone").await.connections[0].close.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn silent_records_but_never_answers() {
    let srv = start().await;
    let mut ws = srv.connect("/silent?key=quiet").await;
    ws.send(Message::Ping(vec![1, 2].into()))
        .await
        .expect("ping");
    ws.send(Message::text("hi")).await.expect("send");
    ws.send(Message::binary(vec![0xde, 0xad]))
        .await
        .expect("send");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), ws.next())
            .await
            .is_err(),
        "no pong or echo from /silent"
    );
    let report = srv.report("quiet").await;
    assert_eq!(report.connections[0].received, vec!["hi", "bin:2:dead"]);
    assert_eq!(report.connections[0].close, None);

    // A client close frame is recorded even though it is never answered.
    ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "leaving".into(),
    }))
    .await
    .expect("close");
    bounded(async {
        while srv.report("quiet").await.connections[0].close.is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        srv.report("quiet").await.connections[0].close,
        by(1001, "leaving", ClosedBy::Client)
    );
}

#[tokio::test]
async fn static_files_and_http_api() {
    let srv = start().await;
    let (status, head, body) = srv.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&head, "access-control-allow-origin"), Some("*"));
    // Fetched anew each time, yet a page may enter the back/forward cache.
    assert_eq!(header(&head, "cache-control"), Some("no-cache"));
    assert!(body.starts_with(b"<!doctype html>"));

    let (status, head, body) = srv.get("/pkg/app.wasm").await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), Some("application/wasm"));
    assert_eq!(body, b"\0asm\x01\0\0\0");
    let (status, head, _) = srv.get("/pkg/app.js?v=1").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "content-type"),
        Some("text/javascript; charset=utf-8")
    );

    for path in [
        "/../secret.txt",
        "/pkg/../../secret.txt",
        "/%2e%2e/secret.txt",
    ] {
        let (status, _, body) = srv.get(path).await;
        assert_eq!(status, 403, "{path}");
        assert!(!body.starts_with(b"secret"));
    }
    assert_eq!(srv.get("/missing.js").await.0, 404);
    assert_eq!(srv.get("/api/nope").await.0, 404);
    let (status, head, _) = srv.get("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "cache-control"), Some("no-store"));

    let (status, head, body) = srv
        .raw("OPTIONS /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(status, 204);
    assert!(body.is_empty());
    assert_eq!(
        header(&head, "access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(header(&head, "access-control-allow-headers"), Some("*"));

    assert_eq!(
        srv.get_json("/api/health").await,
        serde_json::json!({"ok": true})
    );
    assert_eq!(
        srv.get_json("/api/report/unknown").await,
        serde_json::json!({"attempts": 0, "connections": []})
    );

    // Reset forgets a key.
    let _ws = srv.connect("/echo?key=r").await;
    assert_eq!(srv.report("r").await.attempts, 1);
    assert_eq!(
        srv.get_json("/api/reset/r").await,
        serde_json::json!({"ok": true})
    );
    assert_eq!(srv.report("r").await, Report::default());
}

#[tokio::test]
async fn token_answers_after_its_delay_and_records_a_client_that_went_away() {
    let srv = start().await;
    assert_eq!(
        srv.get_json("/api/token/t").await,
        serde_json::json!({"token": 1})
    );
    let started = std::time::Instant::now();
    assert_eq!(
        srv.get_json("/api/token/t?delay=300").await,
        serde_json::json!({"token": 2})
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited its delay"
    );

    // A client that gives up (a fetch aborted) closes its connection while waiting.
    let mut s = TcpStream::connect(("127.0.0.1", srv.port))
        .await
        .expect("connect");
    s.write_all(b"GET /api/token/t?delay=30000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    bounded(async {
        while srv.report("t").await.tokens.len() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(srv.report("t").await.tokens[2], TokenOutcome::Waiting);
    drop(s);
    bounded(async {
        while srv.report("t").await.tokens[2] == TokenOutcome::Waiting {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        srv.report("t").await.tokens,
        [
            TokenOutcome::Given,
            TokenOutcome::Given,
            TokenOutcome::Aborted
        ]
    );
    assert_eq!(
        srv.get_json("/api/report/t").await["tokens"],
        serde_json::json!(["given", "given", "aborted"])
    );

    let (status, _, _) = srv.get("/api/token/t?delay=60001").await;
    assert_eq!(status, 400);
    let (status, _, _) = srv.get("/api/token/t?delay=soon").await;
    assert_eq!(status, 400);
    assert_eq!(
        srv.report("t").await.tokens.len(),
        3,
        "a bad delay is no request"
    );
}

#[tokio::test]
async fn bad_requests_do_not_hurt_the_server() {
    let srv = start().await;
    let (status, _, _) = srv.raw("GARBAGE\r\n\r\n").await;
    assert_eq!(status, 400);
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(srv.raw(&huge).await.0, 431);
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let upgrade = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    };
    assert_eq!(srv.raw(&upgrade("/nowhere?key=bad")).await.0, 404);
    assert_eq!(srv.raw(&upgrade("/close/notanumber/x")).await.0, 400);
    assert_eq!(
        srv.raw("GET /echo HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            .await
            .0,
        400
    );
    // A handshake request for an unknown path still counts as an attempt.
    assert_eq!(srv.report("bad").await.attempts, 1);
    // Still alive.
    assert_eq!(srv.get_json("/api/health").await["ok"], true);
}

#[tokio::test]
async fn hang_never_answers_the_handshake() {
    let server = start().await;
    let attempt = connect_async(server.ws_url("/hang"));
    let outcome = tokio::time::timeout(std::time::Duration::from_millis(300), attempt).await;
    assert!(outcome.is_err(), "the handshake must still be pending");
}

#[tokio::test]
async fn bench_endpoints() {
    let srv = start().await;
    let post = |body: &str| {
        format!(
            "POST /api/bench/result HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, _, body) = srv.raw(&post(r#"{"workload": "w1", "rate": 1.5}"#)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(srv.raw(&post("not json")).await.0, 400);
    let no_length = "POST /api/bench/result HTTP/1.1\r\nHost: x\r\n\r\n{}";
    assert_eq!(srv.raw(no_length).await.0, 411);
    let elsewhere = "POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    assert_eq!(srv.raw(elsewhere).await.0, 405);
    assert_eq!(
        srv.get_json("/api/bench/results").await,
        serde_json::json!([{"workload": "w1", "rate": 1.5}])
    );

    let cpu = srv.get_json("/api/bench/cpu").await;
    assert!(cpu.get("cpu_ms").is_some() && cpu.get("cpu_ns").is_some());
    let renderers = srv.get_json("/api/bench/renderer-cpu?reset_peak=1").await;
    assert!(renderers["renderers"].is_array());

    // Without the flag, static files carry no isolation headers.
    let (_, head, _) = srv.get("/").await;
    assert_eq!(header(&head, "cross-origin-embedder-policy"), None);
}

#[tokio::test]
async fn bench_out_file_and_isolation_headers() {
    let srv = start().await;
    let out = srv.www.with_file_name("results.jsonl");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let state = State::new(srv.www.clone())
        .with_bench_out(&out)
        .cross_origin_isolated();
    tokio::spawn(run(listener, state));
    let isolated = Server {
        port,
        www: srv.www.join("unused"),
    };
    let body = r#"{"type":"done"}"#;
    let request = format!(
        "POST /api/bench/result HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(isolated.raw(&request).await.0, 200);
    assert_eq!(
        std::fs::read_to_string(&out).expect("bench-out written"),
        "{\"type\":\"done\"}\n"
    );
    let (status, head, _) = isolated.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(
        header(&head, "cross-origin-embedder-policy"),
        Some("require-corp")
    );
}

/// Nothing arrives within 300 ms.
async fn quiet(ws: &mut Client) -> bool {
    tokio::time::timeout(Duration::from_millis(300), ws.next())
        .await
        .is_err()
}

#[tokio::test]
async fn stomp_silent_answers_the_first_connect_then_never_sends() {
    use resocket_test_server::STOMP_SILENT_CONNECTED;
    let srv = start().await;
    let mut req = srv
        .ws_url("/stomp-silent?key=stomp")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v11.stomp, v12.stomp".parse().expect("header"),
    );
    let (mut ws, resp) = bounded(connect_async(req)).await.expect("connects");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("v12.stomp")
    );
    // A heart-beat and a frame before CONNECT get nothing back.
    ws.send(Message::text("\n")).await.expect("send");
    ws.send(Message::text("SEND\ndestination:/q\n\nearly\0"))
        .await
        .expect("send");
    assert!(quiet(&mut ws).await, "nothing before CONNECT");
    let connect = "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,500\n\n\0";
    ws.send(Message::text(connect)).await.expect("send");
    assert_eq!(
        next_msg(&mut ws).await,
        Message::text(STOMP_SILENT_CONNECTED)
    );
    // Then silence: no heart-beat, no answer to another CONNECT, pings, or anything.
    ws.send(Message::text(connect)).await.expect("send");
    ws.send(Message::text("\n")).await.expect("send");
    assert!(quiet(&mut ws).await, "silent after CONNECTED");
    assert!(quiet(&mut ws).await, "still silent");
    let report = srv.report("stomp").await;
    assert_eq!(report.connections[0].protocol.as_deref(), Some("v12.stomp"));
    assert_eq!(
        report.connections[0].received,
        vec![
            "\n",
            "SEND\ndestination:/q\n\nearly\0",
            connect,
            connect,
            "\n"
        ]
    );

    // Each connection gets its own CONNECTED; without the subprotocol none is chosen.
    let mut again = srv.connect("/stomp-silent?key=stomp").await;
    again.send(Message::text(connect)).await.expect("send");
    assert_eq!(
        next_msg(&mut again).await,
        Message::text(STOMP_SILENT_CONNECTED)
    );
    let report = srv.report("stomp").await;
    assert_eq!(report.connections.len(), 2);
    assert_eq!(report.connections[1].protocol, None);
}

#[tokio::test]
async fn stomp_mute_accepts_stomp_and_never_answers_connect() {
    let srv = start().await;
    let mut req = srv
        .ws_url("/stomp-mute?key=mute")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v12.stomp".parse().expect("header"),
    );
    let (mut ws, resp) = bounded(connect_async(req)).await.expect("connects");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("v12.stomp")
    );
    let connect = "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,500\n\n\0";
    ws.send(Message::text(connect)).await.expect("send");
    ws.send(Message::text("\n")).await.expect("send");
    ws.send(Message::Ping(b"p".to_vec().into()))
        .await
        .expect("send");
    assert!(quiet(&mut ws).await, "no CONNECTED, no pong, nothing");
    assert!(quiet(&mut ws).await, "still nothing");
    let report = srv.report("mute").await;
    assert_eq!(report.connections[0].protocol.as_deref(), Some("v12.stomp"));
    assert_eq!(report.connections[0].received, vec![connect, "\n"]);
}
