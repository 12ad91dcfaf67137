//! What the application can observe of a socket's life: its [`State`] and its [`Event`]s.

use crate::CloseFrame;
use std::time::Duration;

/// Where the socket is in its life, as [`WebSocket::state`](crate::WebSocket::state) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A connection attempt is under way (the first one or a reconnection).
    Connecting,
    /// The connection is open: messages flow.
    Open,
    /// The connection was lost; the next attempt starts after `delay`
    /// (or when the browser comes back online, if it is offline).
    Reconnecting {
        /// The number of the coming attempt: 1 for the first reconnection.
        attempt: u32,
        /// The backoff delay drawn for it.
        delay: Duration,
    },
    /// `close()` was called and the closing handshake is under way.
    Closing,
    /// Closed for good: the stream has ended or is about to.
    Closed,
}

/// Something that happened to the socket, delivered to every [`events()`](crate::WebSocket::events)
/// subscriber in order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A connection attempt starts (`attempt` 0 is the first connection).
    Connecting {
        /// 0 for the first connection, then the reconnection attempt's number.
        attempt: u32,
    },
    /// The connection opened; `protocol` is the subprotocol the server chose (may be empty).
    Open {
        /// The negotiated subprotocol.
        protocol: String,
    },
    /// A connection (or an attempt) ended, with its close frame.
    Close(CloseFrame),
    /// A reconnection is scheduled after `delay` (zero after [`reconnect`](crate::WebSocket::reconnect),
    /// whose attempt starts at once).
    Reconnecting {
        /// The number of the coming attempt: 1 for the first reconnection.
        attempt: u32,
        /// The backoff delay drawn for it.
        delay: Duration,
    },
    /// An attempt stayed in CONNECTING longer than the connect timeout and was abandoned.
    ConnectTimeout,
    /// The heartbeat found the connection dead.
    HeartbeatTimeout,
    /// The first message after a heartbeat ping arrived `rtt` after the ping was handed to
    /// the browser: the round trip, plus any time the ping waited behind buffered data.
    HeartbeatAck {
        /// From the ping to the first message after it.
        rtt: Duration,
    },
    /// After an abnormal close, `count` messages that the browser had not transmitted were
    /// put back at the head of the queue, to go first on the next connection.
    Requeued {
        /// How many messages were put back.
        count: usize,
    },
    /// When the connection opened, the [`on_open`](crate::Builder::on_open) hook removed
    /// `count` queued messages with [`Opening::retain`](crate::Opening::retain): they were
    /// handed to the hook instead of being sent. Follows the [`Open`](Event::Open) event.
    Discarded {
        /// How many messages were removed from the queue.
        count: usize,
    },
    /// The browser reported it went offline: reconnection attempts pause. Only with
    /// reconnection on (without it there is nothing to pause, and nothing listens).
    /// resocket listens while a reconnection waits or while `events()` has a subscriber;
    /// when it starts listening it reads `navigator.onLine`, so a first subscriber to a
    /// socket whose browser is already offline gets this at once.
    Offline,
    /// The browser reported it is online again: a pending reconnection starts at once.
    /// Only with reconnection on.
    Online,
    /// The browser fired an `error` event (it carries no detail; a `Close` follows).
    Error,
}
