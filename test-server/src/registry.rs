//! The global registry of keyed WebSocket connections: what each received,
//! how it ended, and the signals used to drop or close it from the HTTP API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

/// Close code recorded when a connection ended without a close frame.
pub const ABNORMAL_CLOSE_CODE: u16 = 1006;

/// Close code recorded when a close frame carried no status code.
pub const NO_STATUS_CODE: u16 = 1005;

/// What `/api/report/{key}` returns for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// WebSocket handshake requests that arrived for the key, rejected ones included.
    pub attempts: u64,
    /// Accepted connections for the key, oldest first.
    pub connections: Vec<ConnectionReport>,
    /// How each `/api/token/{key}` request went, oldest first (left out when none came).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenOutcome>,
}

/// How one `/api/token/{key}` request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenOutcome {
    /// Still waiting out its delay.
    Waiting,
    /// Answered with its token.
    Given,
    /// The client went away first (a fetch aborted).
    Aborted,
}

/// One accepted WebSocket connection in a [`Report`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Messages received from the client, in order: a text message as its
    /// text, a binary one as `bin:LEN:` followed by its first 8 bytes in
    /// lowercase hex.
    pub received: Vec<String>,
    /// The negotiated subprotocol, if any.
    pub protocol: Option<String>,
    /// `None` while the connection is open; how it ended otherwise.
    pub close: Option<CloseReport>,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseReport {
    /// The close code: the client's (by client), the server's (by server), or
    /// [`ABNORMAL_CLOSE_CODE`] (drop). [`NO_STATUS_CODE`] when a close frame had no code.
    pub code: u16,
    /// The close reason (empty for a drop).
    pub reason: String,
    /// Who ended the connection.
    pub by: ClosedBy,
}

impl CloseReport {
    /// The report for a connection that ended without a close handshake.
    pub fn dropped() -> Self {
        CloseReport {
            code: ABNORMAL_CLOSE_CODE,
            reason: String::new(),
            by: ClosedBy::Drop,
        }
    }
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosedBy {
    /// The client sent a close frame.
    Client,
    /// The server sent a close frame.
    Server,
    /// The TCP connection ended without a close frame, or the server dropped it.
    Drop,
}

/// A request to send a close frame on an open connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseCommand {
    /// Close code to send.
    pub code: u16,
    /// Close reason to send.
    pub reason: String,
}

/// The receiving half of a connection's control signals, owned by its task.
pub(crate) struct Signals {
    /// Notified when the connection must be dropped abruptly.
    pub drop: Arc<Notify>,
    /// Close requests from `/api/close`. Dropping this receiver makes the
    /// connection not count as closable.
    pub close_rx: mpsc::UnboundedReceiver<CloseCommand>,
}

/// The sending half, kept in the registry.
struct Control {
    drop: Arc<Notify>,
    close_tx: mpsc::UnboundedSender<CloseCommand>,
}

struct ConnEntry {
    id: u64,
    report: ConnectionReport,
    control: Control,
}

#[derive(Default)]
struct KeyEntry {
    attempts: u64,
    connections: Vec<ConnEntry>,
    /// Token requests, by an id unique in the registry (a key reset meanwhile starts anew).
    tokens: Vec<(u64, TokenOutcome)>,
}

/// The registry itself. Shared behind an `Arc`; every lock is short and never
/// held across an `.await`.
#[derive(Default)]
pub(crate) struct Registry {
    keys: Mutex<HashMap<String, KeyEntry>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, KeyEntry>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one handshake attempt for `key`; returns the new count.
    pub fn count_attempt(&self, key: &str) -> u64 {
        let mut keys = self.lock();
        let entry = keys.entry(key.to_string()).or_default();
        entry.attempts += 1;
        entry.attempts
    }

    /// Registers an accepted connection (recorded only when `key` is `Some`).
    pub fn register(
        self: &Arc<Self>,
        key: Option<&str>,
        protocol: Option<String>,
    ) -> (ConnHandle, Signals) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let drop = Arc::new(Notify::new());
        let (close_tx, close_rx) = mpsc::unbounded_channel();
        if let Some(key) = key {
            self.lock()
                .entry(key.to_string())
                .or_default()
                .connections
                .push(ConnEntry {
                    id,
                    report: ConnectionReport {
                        received: Vec::new(),
                        protocol,
                        close: None,
                    },
                    control: Control {
                        drop: drop.clone(),
                        close_tx,
                    },
                });
        }
        let handle = ConnHandle {
            registry: self.clone(),
            key: key.map(str::to_string),
            id,
        };
        (handle, Signals { drop, close_rx })
    }

    /// The report for `key` (empty when unknown).
    pub fn report(&self, key: &str) -> Report {
        match self.lock().get(key) {
            Some(entry) => Report {
                attempts: entry.attempts,
                connections: entry.connections.iter().map(|c| c.report.clone()).collect(),
                tokens: entry.tokens.iter().map(|&(_, outcome)| outcome).collect(),
            },
            None => Report::default(),
        }
    }

    /// Asks every open connection of `key` to drop abruptly; returns how many.
    pub fn drop_key(&self, key: &str) -> usize {
        let keys = self.lock();
        let Some(entry) = keys.get(key) else { return 0 };
        let mut n = 0;
        for conn in entry
            .connections
            .iter()
            .filter(|c| c.report.close.is_none())
        {
            conn.control.drop.notify_one();
            n += 1;
        }
        n
    }

    /// Asks every open connection of `key` that can send a close frame to
    /// send one; returns how many accepted the request.
    pub fn close_key(&self, key: &str, code: u16, reason: &str) -> usize {
        let keys = self.lock();
        let Some(entry) = keys.get(key) else { return 0 };
        entry
            .connections
            .iter()
            .filter(|c| c.report.close.is_none())
            .filter(|c| {
                c.control
                    .close_tx
                    .send(CloseCommand {
                        code,
                        reason: reason.to_string(),
                    })
                    .is_ok()
            })
            .count()
    }

    /// Records a token request for `key` as [`TokenOutcome::Waiting`]; returns its id (for
    /// [`token_done`](Self::token_done)) and its number for the key (1 for the first),
    /// which is also the token.
    pub fn token_requested(&self, key: &str) -> (u64, usize) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut keys = self.lock();
        let tokens = &mut keys.entry(key.to_string()).or_default().tokens;
        tokens.push((id, TokenOutcome::Waiting));
        (id, tokens.len())
    }

    /// Records how token request `id` of `key` ended (nothing if `key` was reset since).
    pub fn token_done(&self, key: &str, id: u64, outcome: TokenOutcome) {
        let mut keys = self.lock();
        let slot = keys
            .get_mut(key)
            .and_then(|e| e.tokens.iter_mut().find(|(i, _)| *i == id));
        if let Some((_, slot)) = slot {
            *slot = outcome;
        }
    }

    /// Forgets `key` entirely (attempts, connections, token requests). Connections still
    /// open keep running but are no longer recorded or reachable by the API.
    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// A connection's handle on its own registry entry. All methods are no-ops
/// for connections without a key or whose key was reset.
pub(crate) struct ConnHandle {
    registry: Arc<Registry>,
    key: Option<String>,
    id: u64,
}

impl ConnHandle {
    fn with_entry(&self, f: impl FnOnce(&mut ConnectionReport)) {
        let Some(key) = &self.key else { return };
        let mut keys = self.registry.lock();
        if let Some(conn) = keys
            .get_mut(key)
            .and_then(|e| e.connections.iter_mut().find(|c| c.id == self.id))
        {
            f(&mut conn.report);
        }
    }

    /// Records a received text message.
    pub fn record_text(&self, text: &str) {
        self.with_entry(|r| r.received.push(text.to_string()));
    }

    /// Records a received binary message.
    pub fn record_binary(&self, data: &[u8]) {
        let summary = describe_binary(data);
        self.with_entry(|r| r.received.push(summary));
    }

    /// Records how the connection ended; the first call wins.
    pub fn finish(&self, close: CloseReport) {
        self.with_entry(|r| {
            if r.close.is_none() {
                r.close = Some(close);
            }
        });
    }
}

/// `bin:LEN:` followed by the first 8 bytes in lowercase hex.
pub(crate) fn describe_binary(data: &[u8]) -> String {
    let mut s = format!("bin:{}:", data.len());
    for b in data.iter().take(8) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_summary() {
        assert_eq!(describe_binary(&[]), "bin:0:");
        assert_eq!(describe_binary(&[0, 1, 0xab]), "bin:3:0001ab");
        assert_eq!(describe_binary(&[0xff; 20]), "bin:20:ffffffffffffffff");
    }

    #[test]
    fn registry_lifecycle() {
        let reg = Arc::new(Registry::default());
        assert_eq!(reg.report("k"), Report::default());
        assert_eq!(reg.count_attempt("k"), 1);
        let (h, mut sig) = reg.register(Some("k"), Some("v1.resocket".into()));
        h.record_text("hi");
        h.record_binary(&[1, 2]);
        assert_eq!(reg.close_key("k", 1012, "restart"), 1);
        assert_eq!(
            sig.close_rx.try_recv().ok(),
            Some(CloseCommand {
                code: 1012,
                reason: "restart".into()
            })
        );
        assert_eq!(reg.drop_key("k"), 1);
        h.finish(CloseReport::dropped());
        h.finish(CloseReport {
            code: 1000,
            reason: String::new(),
            by: ClosedBy::Client,
        });
        assert_eq!(reg.drop_key("k"), 0);
        let report = reg.report("k");
        assert_eq!(report.attempts, 1);
        assert_eq!(report.connections.len(), 1);
        let conn = &report.connections[0];
        assert_eq!(conn.received, vec!["hi", "bin:2:0102"]);
        assert_eq!(conn.protocol.as_deref(), Some("v1.resocket"));
        assert_eq!(conn.close, Some(CloseReport::dropped()));
        reg.reset("k");
        assert_eq!(reg.report("k"), Report::default());
        h.record_text("ignored after reset");
        assert_eq!(reg.report("k"), Report::default());
    }

    #[test]
    fn a_token_request_from_before_a_reset_does_not_touch_a_new_one() {
        let reg = Registry::default();
        let (before, number) = reg.token_requested("k");
        assert_eq!(number, 1);
        reg.reset("k");
        let (after, number) = reg.token_requested("k");
        assert_eq!(number, 1);
        reg.token_done("k", before, TokenOutcome::Aborted);
        assert_eq!(reg.report("k").tokens, [TokenOutcome::Waiting]);
        reg.token_done("k", after, TokenOutcome::Given);
        assert_eq!(reg.report("k").tokens, [TokenOutcome::Given]);
    }

    #[test]
    fn report_json_shape() {
        let report = Report {
            attempts: 2,
            connections: vec![ConnectionReport {
                received: vec!["a".into()],
                protocol: None,
                close: Some(CloseReport {
                    code: 4001,
                    reason: "bye".into(),
                    by: ClosedBy::Server,
                }),
            }],
            tokens: Vec::new(),
        };
        let json = serde_json::to_string(&report).expect("serialises");
        assert_eq!(
            json,
            r#"{"attempts":2,"connections":[{"received":["a"],"protocol":null,"close":{"code":4001,"reason":"bye","by":"server"}}]}"#
        );
        let report = Report {
            tokens: vec![
                TokenOutcome::Given,
                TokenOutcome::Aborted,
                TokenOutcome::Waiting,
            ],
            ..report
        };
        let json = serde_json::to_string(&report).expect("serialises");
        assert!(
            json.ends_with(r#""tokens":["given","aborted","waiting"]}"#),
            "{json}"
        );
    }
}
