//! The STOMP client: one background task reads the socket and dispatches frames to
//! subscriptions and receipts; everything else sends frames through a shared [`Sender`].

use super::frame::{peek_head, Decoder, Frame};
use crate::{
    BinaryType, Builder, CloseFrame, Error, Event, Heartbeat, Message, Opening, Receiver, Sender,
};
use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use futures_sink::Sink;
use gloo_timers::callback::{Interval, Timeout};
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How to connect: credentials, virtual host, heart-beats, extra `CONNECT` headers.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The `login` header, if any.
    pub login: Option<String>,
    /// The `passcode` header, if any.
    pub passcode: Option<String>,
    /// The `host` header (a virtual host; RabbitMQ's default is `/`). STOMP 1.2 requires
    /// it; `/` by default.
    pub host: String,
    /// `(send_ms, recv_ms)`: the client can send a heart-beat at least every `send_ms`
    /// and wants one from the broker at least every `recv_ms` (0: never). Default
    /// (10 000, 10 000).
    pub heart_beat: (u32, u32),
    /// More `CONNECT` headers (e.g. a broker-specific token header).
    pub headers: Vec<(String, String)>,
    /// At most this many bytes of messages wait unread in one auto-ack [`Subscription`]
    /// ([`unread_limit`](Self::unread_limit)); `None` (the default): no bound.
    pub unread_limit: Option<usize>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            login: None,
            passcode: None,
            host: "/".into(),
            heart_beat: (10_000, 10_000),
            headers: Vec::new(),
            unread_limit: None,
        }
    }
}

impl ConnectOptions {
    /// The defaults: no login, host `/`, heart-beats every 10 s both ways.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `login` and `passcode`.
    pub fn login(mut self, login: impl Into<String>, passcode: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self.passcode = Some(passcode.into());
        self
    }

    /// Sets the `host` header (the virtual host).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Sets the heart-beat intervals in milliseconds (0 turns a direction off). They are
    /// sent in `CONNECT` as given; the client sends its EOLs at most 2³¹−1 ms (about 24.8
    /// days, the longest a browser timer waits) apart, even if both sides ask for longer.
    pub fn heart_beat(mut self, send_ms: u32, recv_ms: u32) -> Self {
        self.heart_beat = (send_ms, recv_ms);
        self
    }

    /// Bounds what an auto-ack [`Subscription`] keeps unread: at most `bytes` of messages
    /// (headers and body; a lone message is always kept, however large: 0 keeps one). A
    /// message that would go beyond ends the subscription: `UNSUBSCRIBE` goes to the
    /// broker, and the stream yields the unread messages, then an [`Error::Stomp`] naming
    /// the limit, then ends. (The broker counted every message it sent as delivered: those
    /// it sent on before the `UNSUBSCRIBE` reached it are lost, which is why this ends the
    /// subscription instead of dropping a few and going on.) Without it, an auto-ack
    /// subscription nobody reads grows without end.
    ///
    /// It does not apply in the client ack modes: there the broker's own flow control
    /// bounds a subscription without ending it or losing anything (RabbitMQ's
    /// `prefetch-count` header: at most that many unacknowledged messages), while ending it
    /// would leave its unacknowledged messages with the broker, neither delivered again
    /// nor acknowledgeable, until the connection ends.
    pub fn unread_limit(mut self, bytes: usize) -> Self {
        self.unread_limit = Some(bytes);
        self
    }

    fn frame(&self) -> Result<Frame, Error> {
        let mut f = Frame::new("CONNECT")
            .header("accept-version", "1.2")
            .header("host", &self.host)
            .header(
                "heart-beat",
                format!("{},{}", self.heart_beat.0, self.heart_beat.1),
            );
        if let Some(login) = &self.login {
            f = f.header("login", login);
        }
        if let Some(passcode) = &self.passcode {
            f = f.header("passcode", passcode);
        }
        f.headers.extend(self.headers.iter().cloned());
        // CONNECT headers are not escaped: refuse what would break the frame.
        f.check().map_err(|e| Error::InvalidConfig(e.0))?;
        Ok(f)
    }
}

/// How the broker learns that a message was processed
/// ([spec](https://stomp.github.io/stomp-specification-1.2.html#SUBSCRIBE_ack_Header)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// The broker counts a message as delivered once it sends it.
    Auto,
    /// [`StompMessage::ack`] acknowledges that message and every earlier one of the
    /// subscription.
    Client,
    /// [`StompMessage::ack`] acknowledges that message only.
    ClientIndividual,
}

impl AckMode {
    fn header(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }
}

/// What happens to the STOMP session, as [`StompClient::events`] tells it.
///
/// The socket's own events (opens, closes, reconnections) are
/// [`socket().events()`](Sender::events).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum StompEvent {
    /// The broker answered `CONNECT` with `CONNECTED`: a session is up, and the
    /// `SUBSCRIBE` of every live [`Subscription`] went ahead of everything else on its
    /// connection. Comes for every session: the first (the one
    /// [`StompClient::connect`] waited for) and each one after a reconnection.
    Connected {
        /// Counts the sessions from 1 (the first connection's).
        session: u64,
        /// The `CONNECTED` frame's headers in wire order (`version`, `heart-beat`, and
        /// what the broker adds, e.g. `server`, `session`).
        headers: Vec<(String, String)>,
    },
    /// The broker sent an `ERROR` frame ([`Error::Stomp`] with its `message` header and
    /// body), or bytes that are no STOMP frame; whether or not any subscription exists.
    /// Also [`Error::InboundDropped`] if the [`Builder`] had an
    /// [inbound limit](Builder::inbound_limit) that dropped messages (frames lost: set
    /// none for STOMP; the client reads as fast as messages arrive anyway, and the broker's
    /// `prefetch-count` bounds a subscription without losing frames).
    /// A broker closes the connection after an `ERROR`: the client reconnects (the
    /// [`Builder`]'s policy permitting). The refusal of the first `CONNECT` is not an
    /// event: it is [`StompClient::connect`]'s `Err`.
    Error(Error),
}

struct Sub {
    destination: String,
    ack: AckMode,
    headers: Vec<(String, String)>,
    tx: mpsc::UnboundedSender<Result<StompMessage, Error>>,
    unread: Rc<Unread>,
}

impl Sub {
    /// Ends this subscription on its own, the client going on (the unread limit, the
    /// broker's refusal; already out of the session's): `error` is its last item, then its
    /// channel ends, as this, the sending half, goes.
    fn end_alone(self, error: Error) {
        self.unread.ended.set(true);
        let _ = self.tx.unbounded_send(Err(error));
    }
}

/// What a subscription's messages in its channel add up to, shared with its [`Subscription`].
#[derive(Default)]
struct Unread {
    /// The unread limit applies: an auto-ack subscription (not one of the JS client's
    /// callback subscriptions, which are read as each message comes).
    limited: bool,
    /// Bytes ([`unread_size`]) sent into the channel and not yet read from it, plus those
    /// the JS client's `for await` holds (`Held`).
    bytes: Cell<usize>,
    /// The subscription ended on its own, the client going on: the unread limit ended it,
    /// or the broker refused its `SUBSCRIBE`.
    ended: Cell<bool>,
}

impl Unread {
    fn add(&self, size: usize) {
        self.bytes.set(self.bytes.get().saturating_add(size));
    }

    fn release(&self, size: usize) {
        self.bytes.set(self.bytes.get().saturating_sub(size));
    }
}

/// What a message counts for against the [unread limit](ConnectOptions::unread_limit):
/// its headers and body.
fn unread_size(frame: &Frame) -> usize {
    frame.headers.iter().fold(frame.body.len(), |n, (k, v)| {
        n.saturating_add(k.len() + v.len())
    })
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Counts `CONNECTED` frames: acks and transactions belong to one STOMP session.
    session: u64,
    /// `CONNECTED` came on the current connection.
    connected: bool,
    /// Closed for good, and why.
    closed: Option<Error>,
    /// [`ConnectOptions::unread_limit`].
    unread_limit: Option<usize>,
    /// By id, in the order subscribed (ids only grow): the order of the `SUBSCRIBE`s that
    /// start every connection.
    subs: Pairs<u64, Sub>,
    /// In the order their frames were handed to the socket, which is the order the broker
    /// processes them in.
    receipts: Pairs<String, Pending>,
    /// Tasks waiting for a STOMP session.
    waiters: Vec<Waker>,
    /// Sends heart-beat EOLs while connected.
    beat: Option<Interval>,
    /// Fails the overtaken `SEND` receipts whose grace is over ([`Inner::expire`]).
    grace: Option<Timeout>,
    /// The first `CONNECTED` (or why there will be none).
    first: Option<oneshot::Sender<Result<(), Error>>>,
    /// The current session's `CONNECTED` headers, for a new [`StompClient::events`]
    /// subscriber.
    connected_headers: Vec<(String, String)>,
    /// The [`StompClient::events`] subscribers; closed ones are pruned when an event goes
    /// out, all are dropped (their streams end) when the client ends.
    events: Vec<mpsc::UnboundedSender<StompEvent>>,
}

/// How long a marked `SEND`'s `RECEIPT` may still come after a later frame's overtook it:
/// a broker may answer a `SEND` only once the message is stored (RabbitMQ does, after its
/// publisher confirm, while it answers `BEGIN` or `ABORT` at once).
const SEND_RECEIPT_GRACE: Duration = Duration::from_secs(2);

/// A `RECEIPT` waited for.
struct Pending {
    /// The operation waiting; `None` for the client's own [probe](Core::probe).
    tx: Option<oneshot::Sender<Result<(), Error>>>,
    /// An `ERROR` the broker sent while this was pending: what it fails with if its
    /// `RECEIPT` never comes.
    error: Option<Error>,
    /// The frame is a `SEND`: its `RECEIPT` may come after later frames' (see
    /// [`SEND_RECEIPT_GRACE`]).
    send: bool,
    /// When (on the driver's monotonic clock, `performance.now()`, so that a wall-clock jump
    /// cannot cut the grace short) a later frame's `RECEIPT` came while this was marked by
    /// an `ERROR`: it fails with it once the grace is over ([`Inner::expire`]).
    overtaken: Option<Duration>,
}

impl Pending {
    fn new(tx: Option<oneshot::Sender<Result<(), Error>>>, send: bool) -> Self {
        Pending {
            tx,
            error: None,
            send,
            overtaken: None,
        }
    }

    /// Fails with the `ERROR` that came while it was pending, else with `otherwise`.
    fn fail(self, otherwise: impl FnOnce() -> Error) {
        let error = self.error.unwrap_or_else(otherwise);
        if let Some(tx) = self.tx {
            // Wakes the waiting task, which runs later: nothing re-enters the client here.
            let _ = tx.send(Err(error));
        }
    }
}

impl Inner {
    fn emit(&mut self, event: StompEvent) {
        self.events
            .retain(|tx| tx.unbounded_send(event.clone()).is_ok());
    }

    /// A broker `ERROR` on a session. The receipt it names (`receipt-id`) fails at once:
    /// the broker got that frame and refused it. Which other pending receipts it answered
    /// cannot be told yet, so they stay pending, marked with it: after an `ERROR` a broker
    /// closes the connection (the spec says so), and then the frames that never left the
    /// browser go again in the next session ([`open_session`] keeps their receipts) while
    /// the others fail with this error; a broker that keeps the session instead (RabbitMQ
    /// does, e.g. for an unknown destination) goes on processing frames in order, and a
    /// `RECEIPT` for a later frame settles the marked ones before it ([`Inner::on_receipt`]).
    /// `true` if some receipt was marked now: a probe can tell.
    fn on_broker_error(&mut self, frame: &Frame, error: &Error) -> bool {
        let refused = frame
            .get("receipt-id")
            .and_then(|id| self.receipts.remove(id));
        if let Some(pending) = refused {
            pending.fail(|| error.clone());
        }
        self.mark(error)
    }

    /// Marks every pending receipt not marked yet with `error`; `true` if some was. Also
    /// what happens when bytes from the broker could not be read: a `RECEIPT` may have been
    /// among them, and the probe's settles what was before it ([`Core::on_malformed`]).
    fn mark(&mut self, error: &Error) -> bool {
        let mut marked = false;
        for (_, pending) in &mut self.receipts.0 {
            if pending.error.is_none() {
                pending.error = Some(error.clone());
                marked = true;
            }
        }
        marked
    }

    /// The `RECEIPT` for `id` came at `now`: that frame was processed,
    /// and so was every frame before it. A receipt before it marked by an `ERROR` is one
    /// that `ERROR` answered, unless its `RECEIPT` is only late: a marked non-`SEND` fails
    /// with the `ERROR` now; a marked `SEND` is overtaken and fails with it only if its
    /// `RECEIPT` has not come [`SEND_RECEIPT_GRACE`] later ([`Inner::expire`]).
    /// (Unmarked ones before it are left alone: no broker is known to skip a frame
    /// silently.) `true` if some receipt was overtaken now: the grace timer must run.
    fn on_receipt(&mut self, id: &str, now: Duration) -> bool {
        let Some(i) = self.receipts.find(id) else {
            return false;
        };
        let (_, pending) = self.receipts.0.remove(i);
        if let Some(tx) = pending.tx {
            let _ = tx.send(Ok(()));
        }
        let later = self.receipts.0.split_off(i);
        let mut overtaken = false;
        for (id, mut earlier) in std::mem::take(&mut self.receipts.0) {
            if earlier.error.is_some() && !earlier.send {
                earlier.fail(lost_before_receipt);
                continue;
            }
            if earlier.error.is_some() && earlier.overtaken.is_none() {
                earlier.overtaken = Some(now);
                overtaken = true;
            }
            self.receipts.insert(id, earlier);
        }
        self.receipts.0.extend(later);
        overtaken
    }

    /// At `now`: fails the overtaken receipts whose grace is over, with their `ERROR`.
    /// Returns how long until the next one's is, if any is left.
    fn expire(&mut self, now: Duration) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        for (id, pending) in std::mem::take(&mut self.receipts.0) {
            let left = pending
                .overtaken
                .map(|at| at.saturating_add(SEND_RECEIPT_GRACE).saturating_sub(now));
            if left == Some(Duration::ZERO) {
                pending.fail(lost_before_receipt);
                continue;
            }
            if let Some(left) = left {
                next = Some(next.map_or(left, |n| n.min(left)));
            }
            self.receipts.insert(id, pending);
        }
        next
    }
}

/// Runs [`Inner::expire`] after `delay`, and again until no overtaken receipt is left. The
/// timer belongs to `Inner`: dropping the client cancels it.
fn arm_grace(state: &Rc<RefCell<Inner>>, delay: Duration) {
    let weak = Rc::downgrade(state);
    // Rounded up, and at least 1 ms: a fraction left must not become a busy loop of 0 ms
    // timers. (The grace is 2 s: the cast cannot saturate.)
    let ms = (delay.as_micros().div_ceil(1000) as u32).max(1);
    let timeout = Timeout::new(ms, move || {
        let Some(state) = weak.upgrade() else {
            return;
        };
        let next = {
            let mut inner = state.borrow_mut();
            // Drops this very timer: wasm-bindgen frees a running callback only after it returns.
            inner.grace = None;
            inner.expire(crate::browser::now())
        };
        if let Some(left) = next {
            arm_grace(&state, left);
        }
    });
    state.borrow_mut().grace = Some(timeout);
}

/// A small map: a Vec of `(key, value)` in insertion order. A client holds a handful of
/// subscriptions and receipts in flight, for which a linear search is as fast as a tree, and
/// this costs far less wasm than `BTreeMap` (see the README's sizes). Keys are unique by
/// construction (fresh ids), so `insert` does not look for an old entry.
struct Pairs<K, V>(Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<K, V> Pairs<K, V> {
    fn find<Q>(&self, key: &Q) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.iter().position(|(k, _)| k.borrow() == key)
    }

    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.find(key).map(|i| &self.0[i].1)
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.find(key).map(|i| self.0.remove(i).1)
    }

    #[cfg(all(test, not(target_arch = "wasm32")))]
    fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.find(key).is_some()
    }

    fn insert(&mut self, key: K, value: V) {
        self.0.push((key, value));
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl<K, V> IntoIterator for Pairs<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Pairs<K, V> {
    type Item = &'a (K, V);
    type IntoIter = std::slice::Iter<'a, (K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

struct Core {
    sender: Sender,
    connect: Frame,
    /// The heartbeat each connection starts with, until `CONNECTED` says what the broker
    /// promised ([`connect_heartbeat`]).
    recv_ms: u32,
    /// The builder's close timeout in whole milliseconds ([`timer_ms`]): how long
    /// `disconnect()` waits for the broker to confirm.
    close_ms: u32,
    /// Do not reconnect: the broker refused the first `CONNECT`, or `disconnect()` runs.
    /// Also makes a connection lost on resocket's own decision (a heartbeat or connect
    /// timeout, which the reconnect policy is not asked about) the socket's end.
    no_reconnect: Rc<Cell<bool>>,
    /// Shared (weakly) with the socket's open hook, which starts each session.
    inner: Rc<RefCell<Inner>>,
}

impl Drop for Core {
    fn drop(&mut self) {
        // The last handle went: end the socket, which ends the background task.
        let open = self.inner.try_borrow().is_ok_and(|i| i.closed.is_none());
        if open {
            let _ = self.sender.close(1000, "");
        }
    }
}

fn to_message(frame: &Frame) -> Message {
    match String::from_utf8(frame.encode()) {
        Ok(text) => Message::Text(text),
        Err(e) => Message::Binary(e.into_bytes()),
    }
}

impl Core {
    fn next_id(&self) -> u64 {
        let mut inner = self.inner.borrow_mut();
        inner.next_id += 1;
        inner.next_id
    }

    /// Whether a frame handed over now goes out in the current STOMP session.
    fn live(&self) -> bool {
        self.inner.borrow().connected && self.sender.is_live()
    }

    /// Whether `session` is the one up now (a session that is not has ended for good:
    /// sessions are numbered as they come, and a lost one never comes back).
    fn in_session(&self, session: u64) -> bool {
        self.live() && self.inner.borrow().session == session
    }

    /// Hands a frame to the socket at once if a connection is open (and not closing): it goes after that
    /// connection's `CONNECT` (the open hook put it first), in the session to come or
    /// already up. For SUBSCRIBE and UNSUBSCRIBE: without a connection, the next open
    /// subscribes every live subscription anyway.
    fn send_on_connection(&self, frame: &Frame) {
        if self.sender.is_live() {
            let mut sender = self.sender.clone();
            let _ = Pin::new(&mut sender).start_send(to_message(frame));
        }
    }

    /// Hands a frame to the socket at once if `session` is up (ABORT on drop: if the
    /// session ended, the broker has aborted the transaction already).
    fn send_in_session(&self, frame: &Frame, session: u64) {
        if self.in_session(session) {
            let mut sender = self.sender.clone();
            let _ = Pin::new(&mut sender).start_send(to_message(frame));
        }
    }

    fn poll_session(&self, cx: &mut Context<'_>) -> Poll<Result<u64, Error>> {
        let live = self.sender.is_live();
        let mut inner = self.inner.borrow_mut();
        if let Some(e) = &inner.closed {
            return Poll::Ready(Err(e.clone()));
        }
        if inner.connected && live {
            return Poll::Ready(Ok(inner.session));
        }
        // Once per task: a future polled again and again while the connection is down (in a
        // `select!` with a timer) must not add a waker each time.
        if !inner.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            inner.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Sends `frame` in a STOMP session, waiting for one (and for backpressure) first.
    /// With `session`, only in that session. Returns the session it went out in.
    async fn send(&self, frame: Frame, session: Option<u64>) -> Result<u64, Error> {
        // A destination or header from the caller must not break the frame.
        frame.check().map_err(|e| Error::Encode(e.0))?;
        let message = to_message(&frame);
        let mut sender = self.sender.clone();
        loop {
            // A session that has ended fails now, not when the next one is up: an outage
            // can last for ever.
            if session.is_some_and(|s| !self.in_session(s)) {
                return Err(self.inner.borrow().closed.clone().unwrap_or_else(stale));
            }
            let current = poll_fn(|cx| self.poll_session(cx)).await?;
            poll_fn(|cx| Pin::new(&mut sender).poll_ready(cx)).await?;
            // The connection may have dropped while we waited: never let a frame go ahead
            // of the next CONNECT.
            if self.in_session(current) {
                Pin::new(&mut sender).start_send(message)?;
                return Ok(current);
            }
        }
    }

    /// Sends `frame` with a `receipt` header and waits for the RECEIPT.
    async fn send_with_receipt(&self, frame: Frame, session: Option<u64>) -> Result<(), Error> {
        let id = format!("r-{}", self.next_id());
        let send = frame.command == "SEND";
        self.send(first(frame, "receipt", &id), session).await?;
        // Registered right after the hand-over, in the same poll: the RECEIPT cannot come
        // before this task yields, and the open hook, which settles the receipts of a lost
        // connection, never sees a frame in the queue whose receipt is not registered.
        let (tx, rx) = oneshot::channel();
        self.inner
            .borrow_mut()
            .receipts
            .insert(id, Pending::new(Some(tx), send));
        rx.await.unwrap_or(Err(Error::SocketClosed))
    }

    /// After an `ERROR` on a session that goes on: `BEGIN` and `ABORT` of an empty
    /// transaction, the `ABORT` with a receipt. Harmless anywhere; its `RECEIPT` says that
    /// every frame handed over before it was processed, so the receipts the `ERROR` marked
    /// that are still pending then never come ([`Inner::on_receipt`]). Bound to the
    /// session: if the connection is lost first, the open hook drops it (nobody waits on
    /// it; counted in [`Event::Discarded`] like any dropped frame), and the marked receipts
    /// are settled there.
    fn probe(&self) {
        let id = format!("probe-{}", self.next_id());
        self.send_on_connection(&Frame::new("BEGIN").header("transaction", &id));
        self.send_on_connection(
            &Frame::new("ABORT")
                .header("transaction", &id)
                .header("receipt", &id),
        );
        self.inner
            .borrow_mut()
            .receipts
            .insert(id, Pending::new(None, false));
    }

    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut self.inner.borrow_mut().waiters);
        waiters.into_iter().for_each(Waker::wake);
    }

    /// The connection ended (it may come back). Its pending receipts are settled by the
    /// next open (some of their frames may go again) or by the end. The heartbeat
    /// negotiated for its session ends with it: the next connection is watched as the first
    /// was until its `CONNECTED` (a proxy that accepts the WebSocket but never answers
    /// `CONNECT` must not hold the client forever because the last broker promised no
    /// heart-beats).
    fn on_connection_lost(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.connected = false;
            inner.beat = None;
        }
        // Only fails for a zero interval, which `connect_heartbeat` never makes.
        let _ = self.sender.set_heartbeat(connect_heartbeat(self.recv_ms));
    }

    fn on_closed_for_good(&self, error: Error) {
        self.on_connection_lost();
        let (subs, first, receipts) = {
            let mut inner = self.inner.borrow_mut();
            inner.closed = Some(error.clone());
            inner.events.clear();
            inner.grace = None;
            (
                std::mem::take(&mut inner.subs),
                inner.first.take(),
                std::mem::take(&mut inner.receipts),
            )
        };
        for (_, pending) in receipts {
            pending.fail(lost_before_receipt);
        }
        for (_, sub) in subs {
            if error != Error::SocketClosed {
                let _ = sub.tx.unbounded_send(Err(error.clone()));
            }
        }
        if let Some(first) = first {
            let _ = first.send(Err(error));
        }
        self.wake_waiters();
    }

    fn on_frame(self: &Rc<Self>, frame: Frame) {
        match frame.command.as_str() {
            "CONNECTED" => self.on_connected(&frame),
            "MESSAGE" => self.on_message(frame),
            "RECEIPT" => {
                if let Some(id) = frame.get("receipt-id") {
                    let mut inner = self.inner.borrow_mut();
                    if inner.on_receipt(id, crate::browser::now()) && inner.grace.is_none() {
                        drop(inner);
                        arm_grace(&self.inner, SEND_RECEIPT_GRACE);
                    }
                }
            }
            "ERROR" => self.on_error(&frame),
            _ => {}
        }
    }

    fn on_message(self: &Rc<Self>, frame: Frame) {
        let Some(id) = frame
            .get("subscription")
            .and_then(|id| id.parse::<u64>().ok())
        else {
            return;
        };
        let mut inner = self.inner.borrow_mut();
        let limit = inner.unread_limit;
        let session = inner.session;
        let Some(sub) = inner.subs.get(&id) else {
            return;
        };
        let size = unread_size(&frame);
        let unread = sub.unread.bytes.get();
        match limit {
            Some(limit)
                if sub.unread.limited && unread > 0 && unread.saturating_add(size) > limit =>
            {
                let Some(sub) = inner.subs.remove(&id) else {
                    return;
                };
                drop(inner);
                let message = format!(
                    "subscription {id} ({}) was ended: its unread messages would have gone \
                     past the unread limit of {limit} bytes",
                    sub.destination
                );
                sub.end_alone(Error::Stomp {
                    message,
                    body: String::new(),
                });
                self.send_on_connection(&Frame::new("UNSUBSCRIBE").header("id", id.to_string()));
            }
            _ => {
                sub.unread.add(size);
                let message = StompMessage {
                    ack_mode: sub.ack,
                    session,
                    core: Rc::downgrade(self),
                    frame,
                };
                let _ = sub.tx.unbounded_send(Ok(message));
            }
        }
    }

    fn on_connected(&self, frame: &Frame) {
        let (server_send, server_recv) = frame
            .get("heart-beat")
            .and_then(parse_heart_beat)
            .unwrap_or((0, 0));
        let client_send = self.connect.get("heart-beat").and_then(parse_heart_beat);
        // Incoming heart-beats: every max(sx, cy) if both want them (spec, "Heart-beating");
        // a broker that promised none is not expected to send any, however long it is quiet.
        let incoming = match client_send {
            Some((_, cy)) if cy > 0 && server_send > 0 => Some(cy.max(server_send)),
            _ => None,
        };
        // Only fails for a zero interval, which `incoming` cannot be. For this session only:
        // `on_connection_lost` puts the first heartbeat back.
        let _ = self.sender.set_heartbeat(incoming.map(stomp_heartbeat));
        // What the open hook held (SENDs re-queued from a lost connection, frames handed
        // over since the CONNECT) goes now, ahead of frames that wait for the session. Err
        // only from inside a socket callback, which this is not (the client's own task).
        let _ = self.sender.release_queue();
        {
            let mut inner = self.inner.borrow_mut();
            inner.connected = true;
            inner.session += 1;
            inner.connected_headers = frame.headers.clone();
            let event = StompEvent::Connected {
                session: inner.session,
                headers: frame.headers.clone(),
            };
            inner.emit(event);
            inner.beat = client_send
                .and_then(|(cx, _)| outgoing_every(cx, server_recv))
                .map(|ms| {
                    let mut sender = self.sender.clone();
                    Interval::new(ms, move || {
                        if sender.is_live() {
                            let _ = Pin::new(&mut sender).start_send(Message::Text("\n".into()));
                        }
                    })
                });
        }
        if let Some(first) = self.inner.borrow_mut().first.take() {
            let _ = first.send(Ok(()));
        }
        self.wake_waiters();
    }

    fn on_error(&self, frame: &Frame) {
        let error = Error::Stomp {
            message: frame.get("message").unwrap_or("ERROR frame").to_owned(),
            body: String::from_utf8_lossy(&frame.body).into_owned(),
        };
        // About a SUBSCRIBE (its receipt names it): the broker refused that subscription.
        // It alone gets the error and ends; it is not subscribed again (a broker that closes
        // the connection after an ERROR would refuse it, and close, on every reconnection).
        let refused = frame
            .get("receipt-id")
            .and_then(|r| r.strip_prefix(SUBSCRIBE_RECEIPT))
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| self.inner.borrow_mut().subs.remove(&id));
        if let Some(sub) = refused {
            sub.end_alone(error.clone());
            self.inner.borrow_mut().emit(StompEvent::Error(error));
            return;
        }
        let (first, marked) = {
            let mut inner = self.inner.borrow_mut();
            if !inner.connected && inner.session == 0 {
                // The broker refused the first CONNECT (credentials, vhost): retrying
                // would only be refused again.
                self.no_reconnect.set(true);
                (inner.first.take(), false)
            } else {
                (None, inner.on_broker_error(frame, &error))
            }
        };
        if let Some(first) = first {
            let _ = first.send(Err(error));
            return;
        }
        if marked && self.live() {
            self.probe();
        }
        self.inner
            .borrow_mut()
            .emit(StompEvent::Error(error.clone()));
        // Every subscription sees it too.
        for sub in self.inner.borrow().subs.values() {
            let _ = sub.tx.unbounded_send(Err(error.clone()));
        }
    }

    /// Bytes that are no STOMP frame, or messages the socket dropped: told to every
    /// subscription and [`StompClient::events`] subscriber. A `RECEIPT` may have been among
    /// them, and nothing would ever settle its receipt: the pending ones are marked as by
    /// an `ERROR`, and a probe's `RECEIPT` settles them (the broker answers in order).
    fn on_malformed(&self, error: Error) {
        let marked = self.inner.borrow_mut().mark(&error);
        if marked && self.live() {
            self.probe();
        }
        self.inner
            .borrow_mut()
            .emit(StompEvent::Error(error.clone()));
        for sub in self.inner.borrow().subs.values() {
            let _ = sub.tx.unbounded_send(Err(error.clone()));
        }
    }
}

const LOST_BEFORE_RECEIPT: &str = "the connection was lost before the receipt came";

/// A frame that left the browser, or may have, on a connection that died before its
/// RECEIPT: the broker may or may not have processed it.
fn lost_before_receipt() -> Error {
    Error::Stomp {
        message: LOST_BEFORE_RECEIPT.into(),
        body: String::new(),
    }
}

const NOT_SENT: &str = "the connection was lost before this frame left the browser, and it \
                        belonged to the STOMP session that ended with it: it was not sent again";

/// A frame the browser never transmitted that was bound to the old session, so the open
/// hook dropped it instead of sending it to the new one: the broker never saw it.
fn not_sent() -> Error {
    Error::Stomp {
        message: NOT_SENT.into(),
        body: String::new(),
    }
}

/// Commands whose frames mean something only in the session they were written for.
const SESSION_BOUND: [&str; 10] = [
    "CONNECT",
    "STOMP",
    "DISCONNECT",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
];

/// What the open hook makes of a queued message: `None` if it is no STOMP frame (not ours
/// to judge: kept), else whether it is bound to the old session and its receipt id.
fn classify(message: &Message) -> Option<(bool, Option<String>)> {
    let (command, headers) = peek_head(message.as_bytes())?;
    let bound = SESSION_BOUND.contains(&command.as_str())
        || headers.iter().any(|(name, _)| name == "transaction");
    let receipt = headers
        .into_iter()
        .find(|(name, _)| name == "receipt")
        .map(|(_, value)| value);
    Some((bound, receipt))
}

/// The socket's open hook: starts a STOMP session on every new connection.
///
/// `CONNECT` goes first, then a `SUBSCRIBE` for every live subscription (the broker
/// processes frames in order, so they land in the new session). Of what the browser never
/// transmitted on the old connection, plain `SEND`s stay queued, held until this session's
/// `CONNECTED` (`on_connected` releases the queue: a broker that refuses the `CONNECT`
/// would drop them), then go first, in order; frames bound to
/// the old session are dropped (a `MESSAGE`'s ack id, a transaction, a subscription the
/// client re-issues itself). Receipts still pending from the old connection are settled:
/// those of a `SEND` that goes again stay pending, those of a dropped frame fail with
/// [`NOT_SENT`], the rest (their frames left) with the broker's `ERROR` if one came while
/// they were pending, else with [`LOST_BEFORE_RECEIPT`].
fn open_session(state: &Weak<RefCell<Inner>>, connect: &Message, opening: &mut Opening<'_>) {
    opening.send_first(connect.clone());
    // What is queued waits for this session's CONNECTED (`on_connected` releases it): a
    // broker that refuses the CONNECT drops the frames after it, and they would be lost.
    opening.hold_queue();
    let Some(state) = state.upgrade() else {
        return;
    };
    // Never borrowed here: the hook runs from the browser's open event, not from client code.
    let Ok(mut inner) = state.try_borrow_mut() else {
        return;
    };
    inner.connected = false;
    for (id, sub) in &inner.subs {
        opening.send_first(to_message(&subscribe_frame(*id, sub)));
    }
    let mut going_again = Vec::new();
    let mut dropped = Vec::new();
    let removed = opening.retain(|message| match classify(message) {
        Some((true, receipt)) => {
            dropped.extend(receipt);
            false
        }
        Some((false, receipt)) => {
            going_again.extend(receipt);
            true
        }
        None => true,
    });
    // Dropped knowingly: their futures resolved at hand-over (ACK, NACK, a transaction's
    // SEND: the broker redelivers and aborts) or fail just below (receipts).
    drop(removed);
    let pending = std::mem::take(&mut inner.receipts);
    let mut settled: Vec<(Pending, fn() -> Error)> = Vec::new();
    for (id, mut receipt) in pending {
        if going_again.contains(&id) {
            // Never seen by the broker: an ERROR on the old connection was not about it.
            receipt.error = None;
            receipt.overtaken = None;
            inner.receipts.insert(id, receipt);
        } else if dropped.contains(&id) {
            receipt.error = None;
            settled.push((receipt, not_sent));
        } else {
            settled.push((receipt, lost_before_receipt));
        }
    }
    drop(inner);
    for (receipt, otherwise) in settled {
        receipt.fail(otherwise);
    }
}

/// After the builder's own open hook: the receipts [`open_session`] kept for `SEND`s that
/// go again but that hook removed from the queue fail (else they would wait for a `RECEIPT`
/// that never comes).
fn settle_removed(state: &Weak<RefCell<Inner>>, opening: &mut Opening<'_>) {
    let mut queued = Vec::new();
    // Keeps everything: only looks.
    let _ = opening.retain(|message| {
        queued.extend(classify(message).and_then(|(_, receipt)| receipt));
        true
    });
    let Some(state) = state.upgrade() else {
        return;
    };
    let mut inner = state.borrow_mut();
    // Only those of SENDs going again are pending here: `open_session` settled the rest.
    let mut removed = Vec::new();
    for (id, receipt) in std::mem::take(&mut inner.receipts) {
        match queued.contains(&id) {
            true => inner.receipts.insert(id, receipt),
            false => removed.push(receipt),
        }
    }
    drop(inner);
    for receipt in removed {
        receipt.fail(|| Error::Stomp {
            message: "the connection was lost before this frame left the browser, and the \
                      socket's open hook removed it from the queue: it was not sent again"
                .into(),
            body: String::new(),
        });
    }
}

/// The heartbeat a connection starts with, before `CONNECTED`: silence for about twice
/// `recv_ms` ends it; none if the client wants no heart-beats (`recv_ms` 0).
fn connect_heartbeat(recv_ms: u32) -> Option<Heartbeat> {
    (recv_ms > 0).then(|| stomp_heartbeat(recv_ms))
}

/// How often to send heart-beat EOLs: every max(cx, sy) if both want them (spec,
/// "Heart-beating"), in milliseconds. At most `i32::MAX` (24.8 days): the browser's timers
/// take an `i32`, and gloo's `Interval` casts, so a larger value would wrap to a negative
/// delay, which the browser runs every few milliseconds. Sending more often than said is
/// always allowed.
fn outgoing_every(cx: u32, sy: u32) -> Option<u32> {
    const MAX_TIMER_MS: u32 = i32::MAX as u32;
    (cx > 0 && sy > 0).then(|| cx.max(sy).min(MAX_TIMER_MS))
}

/// resocket's heartbeat for STOMP: after `ms` of silence, send a heart-beat EOL and wait `ms`
/// more for anything; EOL-only messages between frames (the broker's heart-beats) are
/// swallowed. One inside a frame that came in pieces is part of it: the matcher sees every
/// message in order and keeps whether the last one ended a frame (its last byte other than
/// an EOL is the NUL that ends every frame).
fn stomp_heartbeat(ms: u32) -> Heartbeat {
    let every = Duration::from_millis(ms.into());
    let between_frames = std::cell::Cell::new(true);
    Heartbeat::new(every, every)
        .ping("\n")
        .pong_matcher(move |m| {
            let bytes = m.as_bytes();
            match bytes.iter().rposition(|b| !matches!(b, b'\n' | b'\r')) {
                Some(last) => {
                    between_frames.set(bytes[last] == 0);
                    false
                }
                None => !bytes.is_empty() && between_frames.get(),
            }
        })
}

fn parse_heart_beat(value: &str) -> Option<(u32, u32)> {
    let (a, b) = value.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// A `SUBSCRIBE` for `sub`. Its `receipt` ([`SUBSCRIBE_RECEIPT`] and the id) lets an
/// `ERROR` about it name it: the broker refused that subscription ([`Core::on_error`]).
fn subscribe_frame(id: u64, sub: &Sub) -> Frame {
    let mut f = Frame::new("SUBSCRIBE")
        .header("id", id.to_string())
        .header("destination", &sub.destination)
        .header("ack", sub.ack.header());
    f.headers.extend(sub.headers.iter().cloned());
    first(f, "receipt", &format!("{SUBSCRIBE_RECEIPT}{id}"))
}

/// How the `receipt` of a `SUBSCRIBE` starts; the subscription's id follows. (The client's
/// other receipts start with `r-`.)
const SUBSCRIBE_RECEIPT: &str = "sub-";

fn stale() -> Error {
    Error::Stomp {
        message: "the STOMP session this belongs to has ended (the connection was lost); \
                  the broker redelivers unacknowledged messages and aborted open transactions"
            .into(),
        body: String::new(),
    }
}

enum Input {
    Message(Option<Result<Message, Error>>),
    Event(Option<Event>),
}

/// The background task: reads messages and events until the socket is closed for good or
/// the client is gone.
async fn run(core: Weak<Core>, mut rx: Receiver, mut events: impl Stream<Item = Event> + Unpin) {
    let mut decoder = Decoder::new();
    let mut last_error = None;
    loop {
        // Messages before events: what arrived on a connection is handled before its
        // close, so a MESSAGE is never counted in the next session.
        let input = poll_fn(|cx| {
            if let Poll::Ready(m) = Pin::new(&mut rx).poll_next(cx) {
                return Poll::Ready(Input::Message(m));
            }
            match Pin::new(&mut events).poll_next(cx) {
                Poll::Ready(e) => Poll::Ready(Input::Event(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let Some(core) = core.upgrade() else { return };
        match input {
            Input::Message(Some(Ok(message))) => {
                decoder.push(message.as_bytes());
                while let Some(frame) = decoder.next_frame() {
                    match frame {
                        Ok(frame) => core.on_frame(frame),
                        Err(e) => {
                            decoder.reset();
                            core.on_malformed(Error::Stomp {
                                message: e.to_string(),
                                body: String::new(),
                            });
                        }
                    }
                }
            }
            // Whole messages were dropped (the builder's inbound limit): a frame may have
            // lost its start or its end, and the reader is told like of a malformed one.
            Input::Message(Some(Err(e @ Error::InboundDropped { .. }))) => {
                decoder.reset();
                core.on_malformed(e);
            }
            // The socket's own end (its stream ends next): with ArrayBuffers, no other error
            // comes from a read (a failed Blob read or unsupported data would).
            Input::Message(Some(Err(e))) => last_error = Some(e),
            Input::Message(None) => {
                core.on_closed_for_good(last_error.take().unwrap_or(Error::SocketClosed));
                return;
            }
            // The open hook has already sent CONNECT; a new connection's bytes start afresh.
            Input::Event(Some(Event::Open { .. })) => decoder.reset(),
            Input::Event(Some(Event::Close(_))) => {
                core.on_connection_lost();
                if core.no_reconnect.get() {
                    // The policy refused to reconnect, except after resocket's own timeouts,
                    // which it is not asked about: end a pending reconnection here (a
                    // `disconnect()` whose connection died must end, not reconnect).
                    let _ = core.sender.close(1000, "");
                }
            }
            Input::Event(Some(_)) => {}
            // Events end with the socket; the message stream says how.
            Input::Event(None) => {}
        }
    }
}

/// A STOMP 1.2 client on a resilient WebSocket.
///
/// Frames the application sends wait until a STOMP session is up (after `CONNECTED`).
/// Every connection, the first and each reconnection, starts with `CONNECT` and a
/// `SUBSCRIBE` for every live [`Subscription`] (same id), put ahead of everything else by
/// the socket's [open hook](Builder::on_open), so no frame can precede a `CONNECT`.
/// Messages received but not acknowledged (client modes) are redelivered by the broker
/// then, and open transactions are aborted by it.
///
/// # Frames the browser never transmitted
///
/// After an abnormal close resocket re-queues the frames whose bytes never left the
/// browser. On the next connection the client keeps the plain `SEND`s: they wait for the
/// new session's `CONNECTED` (a broker that refused the `CONNECT` would drop them, so they
/// then wait for the next connection), then go first, in their order, and
/// a [`send_with_receipt`](StompClient::send_with_receipt) waiting on one still resolves
/// with the new session's `RECEIPT`. It drops the frames bound to the old session — `ACK`,
/// `NACK`, `SUBSCRIBE`, `UNSUBSCRIBE`, `BEGIN`, `COMMIT`, `ABORT`, `DISCONNECT`, and any
/// frame with a `transaction` header — and counts them in [`Event::Discarded`]: the broker
/// redelivers what was not acknowledged and aborts the transaction, and a future that
/// waited on a dropped frame's receipt (a [`commit`](Transaction::commit)) fails with an
/// [`Error::Stomp`] saying it was not sent. Receipts whose frames did leave on the lost
/// connection fail with an [`Error::Stomp`] "the connection was lost before the receipt
/// came" when the next connection opens (or when the socket closes for good): the broker
/// may or may not have processed those frames.
///
/// # What the client sets on the [`Builder`] it is given
///
/// - the subprotocol `v12.stomp` (a [`target_fn`](Builder::target_fn) or
///   [`target_async`](Builder::target_async) overrides it with its `Target`'s protocols);
/// - a reconnect policy: never after the broker refused the first `CONNECT` or once
///   [`disconnect`](StompClient::disconnect) was called (then a heartbeat or connect
///   timeout, which resocket retries without asking the policy, ends the socket too);
///   otherwise, if the builder has a
///   [`reconnect_if`](Builder::reconnect_if), that policy decides, and if not, every close
///   is retried — not just the [default ones](crate::default_reconnect_policy), because
///   brokers close with 1000 when they drop a connection (RabbitMQ's
///   `close_all_connections`, a node shutting down);
/// - an [open hook](Builder::on_open) that starts the STOMP session as above; a hook set on
///   the builder runs after it, on every open: its `send_first` messages follow `CONNECT`
///   and the `SUBSCRIBE`s, and its `retain` sees the queue the client left. The client
///   holds the queue ([`Opening::hold_queue`]) until the session's `CONNECTED`, which
///   releases it: what goes through the queue, a raw send on the socket included, waits
///   for the session, and a builder hook cannot hold it past `CONNECTED`;
/// - when `recv_ms` > 0, resocket's [`Heartbeat`] with STOMP's own heart-beat (an EOL) as
///   the ping and EOL-only messages as pongs. Until `CONNECTED`, a connection silent for
///   about twice `recv_ms` is closed (4000) and reopened; from `CONNECTED` on, the
///   negotiated interval applies: max(`recv_ms`, what the broker promised), and none at all
///   if the broker promised no heart-beats. That is for the session only: when its
///   connection is lost, the next one is watched again as above until its own
///   `CONNECTED` (a server that accepts the WebSocket but never answers `CONNECT` is given
///   up after about twice `recv_ms`). Do not set another heartbeat on the builder: its
///   ping would be an invalid STOMP frame.
///
/// Outgoing heart-beat EOLs are sent every max(`send_ms`, the broker's wish) while a
/// session is up (an interval above 2³¹−1 ms, about 24.8 days, the longest a browser
/// timer waits, is shortened to that). Dropping the client and every [`Subscription`] and
/// [`Transaction`] closes the socket.
pub struct StompClient {
    core: Rc<Core>,
}

impl std::fmt::Debug for StompClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StompClient")
            .field("state", &self.core.sender.state())
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl StompClient {
    /// Opens the socket from `builder`, sends `CONNECT` and resolves when the broker
    /// answers `CONNECTED`. An `ERROR` frame instead is [`Error::Stomp`] (and no
    /// reconnection follows); a socket closed for good first is its error.
    ///
    /// The client sets the builder's subprotocols (`v12.stomp`) and binary type
    /// ([`BinaryType::ArrayBuffer`]: a Blob's bytes are read later, and a frame from a
    /// connection that has ended could be taken for the next connection's).
    ///
    /// Needs a running `wasm_bindgen_futures` executor (the browser).
    pub async fn connect(builder: Builder, options: ConnectOptions) -> Result<StompClient, Error> {
        let connect = options.frame()?;
        let no_reconnect = Rc::new(Cell::new(false));
        let policy_no_reconnect = no_reconnect.clone();
        let (first_tx, first_rx) = oneshot::channel();
        let inner = Rc::new(RefCell::new(Inner {
            first: Some(first_tx),
            unread_limit: options.unread_limit,
            ..Inner::default()
        }));
        let mut builder = builder;
        let user_policy = builder.take_reconnect_if();
        let user_hook = builder.take_on_open();
        let session = Rc::downgrade(&inner);
        let connect_message = to_message(&connect);
        let mut builder = builder
            .protocols(["v12.stomp"])
            // Blobs are read after the message event, so a frame could reach `run` after
            // its connection's close and the next one's open: an old CONNECTED would then
            // release the new connection's queue before the broker answered it.
            .binary_type(BinaryType::ArrayBuffer)
            .reconnect_if(move |close: &CloseFrame| {
                !policy_no_reconnect.get() && user_policy.as_ref().map_or(true, |p| p(close))
            })
            .on_open(move |opening| {
                open_session(&session, &connect_message, opening);
                if let Some(Ok(mut hook)) = user_hook.as_ref().map(|h| h.try_borrow_mut()) {
                    (*hook)(opening);
                    settle_removed(&session, opening);
                }
            });
        // Until the broker answers, silence for about twice `recv_ms` ends the attempt; then
        // the negotiated interval applies (see `on_connected`).
        let recv_ms = options.heart_beat.1;
        if let Some(heartbeat) = connect_heartbeat(recv_ms) {
            builder = builder.heartbeat(heartbeat);
        }
        let close_ms = timer_ms(builder.close_timeout_set());
        let socket = builder.connect()?;
        let events = socket.events();
        let (sender, receiver) = socket.split();
        let core = Rc::new(Core {
            sender,
            connect,
            recv_ms,
            close_ms,
            no_reconnect,
            inner,
        });
        wasm_bindgen_futures::spawn_local(run(Rc::downgrade(&core), receiver, events));
        first_rx.await.unwrap_or(Err(Error::SocketClosed))?;
        Ok(StompClient { core })
    }

    /// Subscribes to `destination`. The `SUBSCRIBE` is handed over at once if a connection
    /// is open (after its `CONNECT`), else it starts the next connection, right after
    /// `CONNECT`; and again on every reconnection. It asks for a receipt: a broker `ERROR`
    /// that names it (`receipt-id`) ends this subscription alone, and it is not sent again.
    /// (RabbitMQ 3.10 names no frame when it refuses a destination, and closes the
    /// connection: drop a subscription whose error says it was refused, or it is refused
    /// again on every reconnection.)
    pub fn subscribe(&self, destination: &str, ack: AckMode) -> Subscription {
        self.subscribe_with(destination, ack, &[])
    }

    /// [`subscribe`](Self::subscribe) with more `SUBSCRIBE` headers (e.g. RabbitMQ's
    /// `prefetch-count`, `durable`).
    pub fn subscribe_with(
        &self,
        destination: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
    ) -> Subscription {
        self.subscribe_limited(destination, ack, headers, true)
    }

    /// [`subscribe_with`](Self::subscribe_with); `limited`: whether the
    /// [unread limit](ConnectOptions::unread_limit) applies (the JS client's callback
    /// subscriptions are read as each message comes, and end only when asked).
    pub(crate) fn subscribe_limited(
        &self,
        destination: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
        limited: bool,
    ) -> Subscription {
        let id = self.core.next_id();
        let (tx, rx) = mpsc::unbounded();
        let unread = Rc::new(Unread {
            limited: limited && ack == AckMode::Auto,
            ..Unread::default()
        });
        let sub = Sub {
            unread: unread.clone(),
            destination: destination.to_owned(),
            ack,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            tx,
        };
        let frame = subscribe_frame(id, &sub);
        // A destination or header that would break the frame ends the subscription at once.
        let closed = match frame.check() {
            Ok(()) => self.core.inner.borrow().closed.clone(),
            Err(e) => Some(Error::Encode(e.0)),
        };
        match closed {
            Some(e) => {
                let _ = sub.tx.unbounded_send(Err(e));
            }
            None => {
                self.core.inner.borrow_mut().subs.insert(id, sub);
                self.core.send_on_connection(&frame);
            }
        }
        Subscription {
            core: self.core.clone(),
            id,
            rx,
            unread,
        }
    }

    /// Sends `body` to `destination` with extra `headers` (e.g. `content-type`; the
    /// client's own `destination`, `receipt` and `content-length` win over any of the same
    /// name there). A `transaction` header is an [`Error::InvalidConfig`]: send through
    /// [`Transaction::send`], which keeps the frame to the session its transaction lives
    /// in (sent here, it could go out in a later session, where the broker knows no such
    /// transaction). Waits
    /// for a STOMP session and for the socket's backpressure, then hands the frame over;
    /// it does not wait for the broker (see [`send_with_receipt`](Self::send_with_receipt)).
    pub async fn send(
        &self,
        destination: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<(), Error> {
        no_transaction(headers)?;
        self.core
            .send(send_frame(destination, body.into(), headers), None)
            .await
            .map(drop)
    }

    /// Like [`send`](Self::send), but resolves only when the broker confirms with a
    /// `RECEIPT`; an `ERROR` for it, or a connection lost first, is an `Err` (the message
    /// may then have been delivered or not).
    ///
    /// An `ERROR` that names this frame (`receipt-id`) fails it at once. One that does not
    /// may be about it or about another frame: it fails with that `ERROR` once that is
    /// known, when the connection ends (unless the frame never left the browser: then it
    /// goes again in the next session, whose `RECEIPT` settles it) or, if the broker keeps
    /// the session, when a later frame's `RECEIPT` comes first (the client then sends a
    /// `BEGIN` and `ABORT` of an empty transaction with a receipt, to find out) and its own
    /// has not come 2 s after that (a broker may confirm a `SEND` after answering later
    /// frames: RabbitMQ does).
    pub async fn send_with_receipt(
        &self,
        destination: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<(), Error> {
        no_transaction(headers)?;
        self.core
            .send_with_receipt(send_frame(destination, body.into(), headers), None)
            .await
    }

    /// Begins a transaction: frames sent through it take effect together on
    /// [`commit`](Transaction::commit). It lives in the current STOMP session only.
    pub async fn begin(&self) -> Result<Transaction, Error> {
        let id = format!("tx-{}", self.core.next_id());
        let session = self
            .core
            .send(Frame::new("BEGIN").header("transaction", id.clone()), None)
            .await?;
        Ok(Transaction {
            core: self.core.clone(),
            id,
            session,
            done: false,
        })
    }

    /// Whether a STOMP session is up right now: `CONNECTED` came on the open connection, and
    /// the socket is not closing it (a [`reconnect`](Sender::reconnect) ends the session
    /// as its closing handshake starts).
    pub fn is_connected(&self) -> bool {
        self.core.live()
    }

    /// The session's events: [`StompEvent::Connected`] for every `CONNECTED`,
    /// [`StompEvent::Error`] for every `ERROR` frame.
    ///
    /// Any number of subscribers; each gets the events from its subscription on, in order,
    /// starting with the current session's `Connected` if a session is up (so the first
    /// session, which [`connect`](Self::connect) waited for, is seen too; its `session`
    /// is 1). The stream ends when the client ends: the socket closed for good, or the
    /// client, its subscriptions and transactions were all dropped.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use resocket::stomp::{StompClient, StompEvent};
    ///
    /// # async fn demo(client: StompClient) {
    /// let mut events = client.events();
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         StompEvent::Connected { session, .. } if session > 1 => println!("back"),
    ///         StompEvent::Error(e) => println!("the broker said: {e}"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Stream<Item = StompEvent> + Unpin {
        let (tx, rx) = mpsc::unbounded();
        let live = self.core.live();
        let mut inner = self.core.inner.borrow_mut();
        if inner.closed.is_none() {
            if live {
                let _ = tx.unbounded_send(StompEvent::Connected {
                    session: inner.session,
                    headers: inner.connected_headers.clone(),
                });
            }
            inner.events.push(tx);
        }
        rx
    }

    /// The socket underneath, for [`state`](Sender::state), [`events`](Sender::events)
    /// and the like. Sending on it directly bypasses STOMP.
    pub fn socket(&self) -> &Sender {
        &self.core.sender
    }

    /// Ends: with a session up, gracefully — `DISCONNECT` with a receipt (so everything
    /// sent before was processed), then the socket closes with 1000 (should the receipt not
    /// come within the builder's [`close_timeout`](crate::Builder::close_timeout), it
    /// closes anyway, and the result is an [`Error::Stomp`] that says so, along with any
    /// lost `SEND`s); without one (the
    /// connection is down, `CONNECTED` has not come yet, or a
    /// [`reconnect`](Sender::reconnect) is closing the connection), at once — the socket closes
    /// for good, with no `DISCONNECT` to send and no session to wait for.
    ///
    /// The broker closing the connection instead of sending the `RECEIPT` also counts as
    /// done: RabbitMQ's Web STOMP (3.10) does exactly that; so does any loss of the
    /// connection meanwhile (a heartbeat timeout included): from the call on, no
    /// reconnection follows, whatever ends the connection. Without a session, operations
    /// still waiting for one fail. Either way, `SEND`s already handed to the socket that
    /// never left the browser (kept for the next session, or queued behind backpressure
    /// when the connection was lost) make it an [`Error::Stomp`] that counts them. A client whose socket had already closed for good returns the
    /// error that closed it.
    pub async fn disconnect(self) -> Result<(), Error> {
        // Whatever closes the connection now, it is not to be reopened.
        self.core.no_reconnect.set(true);
        if !self.core.live() {
            return self.close_now().await;
        }
        // At most the close timeout: a broker that keeps the connection (and its heart-beats)
        // going but never confirms must not hold the caller forever.
        let ms = self.core.close_ms;
        let disconnect = self.core.send_with_receipt(Frame::new("DISCONNECT"), None);
        let (result, context) = match or_timeout(disconnect, ms).await {
            Some(Err(Error::Stomp { message, .. })) if message == LOST_BEFORE_RECEIPT => (
                Ok(()),
                "the connection was lost before the broker confirmed",
            ),
            Some(other) => (other, "the connection was lost before the broker confirmed"),
            // Not sent (backpressure) or not answered: either way, not confirmed.
            None => (
                Err(Error::Stomp {
                    message: format!("DISCONNECT was not confirmed within {ms} ms"),
                    body: String::new(),
                }),
                "closed before the broker confirmed",
            ),
        };
        let unsent = match self.core.sender.close(1000, "") {
            Ok(closing) => closing.await.unsent,
            Err(_) => Vec::new(),
        };
        // SENDs queued behind backpressure that never left the browser are lost, though
        // their `send()` resolved: said along with whatever else went wrong.
        match (result, lost_sends(&unsent, context)) {
            (Err(Error::Stomp { message, .. }), Err(Error::Stomp { message: lost, .. })) => {
                Err(Error::Stomp {
                    message: format!("{message}; {lost}"),
                    body: String::new(),
                })
            }
            (result, lost) => result.and(lost),
        }
    }

    /// How long [`disconnect`](Self::disconnect) waits for the broker, in milliseconds: the
    /// JS `disconnect()` waits as long for the operations started before it.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn close_ms(&self) -> u32 {
        self.core.close_ms
    }

    /// From now on, the connection's end is the socket's end: what `disconnect()` does
    /// first, for the JS `disconnect()`, which waits for the operations started before it
    /// (a receipt among them may wait for the next session) before it calls it.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn stop_reconnecting(&self) {
        self.core.no_reconnect.set(true);
    }

    /// [`disconnect`](Self::disconnect) without a session.
    async fn close_now(self) -> Result<(), Error> {
        let closed = self.core.inner.borrow().closed.clone();
        if let Some(error) = closed.filter(|e| *e != Error::SocketClosed) {
            return Err(error);
        }
        let unsent = match self.core.sender.close(1000, "") {
            Ok(closing) => closing.await.unsent,
            Err(_) => Vec::new(),
        };
        lost_sends(&unsent, "disconnected while the connection was down")
    }
}

/// `future`'s output, or `None` once `ms` have passed first (a browser timer, cleared when
/// this future is dropped: nothing runs after).
pub(crate) async fn or_timeout<F: Future>(future: F, ms: u32) -> Option<F::Output> {
    let (fire, mut timed_out) = oneshot::channel::<()>();
    let _timer = Timeout::new(ms, move || {
        let _ = fire.send(());
    });
    let mut future = std::pin::pin!(future);
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Pin::new(&mut timed_out).poll(cx).map(|_| None),
    })
    .await
}

/// `timeout` in whole milliseconds for a browser timer, rounded up: at least 1, at most
/// what a browser timer waits.
fn timer_ms(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_micros().div_ceil(1000))
        .map_or(i32::MAX as u32, |ms| ms.clamp(1, i32::MAX as u32))
}

/// `Err` naming how many of `unsent` (what the socket handed back at its end) are plain
/// SENDs: their `send()` resolved at hand-over, and they never left the browser. Frames
/// bound to a session mean nothing without one (the broker redelivers what was not
/// acknowledged), and heart-beats and raw messages are not the client's to count.
fn lost_sends(unsent: &[Message], context: &str) -> Result<(), Error> {
    let lost = unsent
        .iter()
        .filter(|m| matches!(classify(m), Some((false, _))))
        .count();
    match lost {
        0 => Ok(()),
        sends => Err(Error::Stomp {
            message: format!(
                "{context}: {sends} SEND frame(s) handed to the socket never left the browser"
            ),
            body: String::new(),
        }),
    }
}

/// `frame` with the header `name` put first: of repeated headers the first counts (spec,
/// "Repeated Header Entries"), so the client's own `receipt` or `transaction` wins over a
/// caller's of the same name (a caller's `receipt` first would have the broker answer
/// with an id nobody waits for).
fn first(mut frame: Frame, name: &str, value: &str) -> Frame {
    frame.headers.insert(0, (name.to_owned(), value.to_owned()));
    frame
}

/// A plain send's headers name no transaction (see [`StompClient::send`]).
fn no_transaction(headers: &[(&str, &str)]) -> Result<(), Error> {
    match headers.iter().any(|(name, _)| *name == "transaction") {
        true => Err(Error::InvalidConfig(
            "a SEND with a transaction header goes through Transaction::send, which keeps it \
             to the transaction's session"
                .into(),
        )),
        false => Ok(()),
    }
}

/// A `SEND` with `destination` first: it wins over a caller's header of that name.
fn send_frame(destination: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Frame {
    let mut f = Frame::new("SEND").header("destination", destination);
    for (name, value) in headers {
        f = f.header(*name, *value);
    }
    f.body(body)
}

/// A subscription: a `Stream` of the messages of one destination.
///
/// It lives across reconnections (re-subscribed with the same id). An `Err` item is an
/// `ERROR` frame from the broker (the stream goes on: the client reconnects) or, last, why
/// the socket closed for good, the broker's `ERROR` refusing this subscription, or why the
/// [unread limit](ConnectOptions::unread_limit) ended it (in those two cases it is not
/// subscribed again). Dropping it sends `UNSUBSCRIBE`.
pub struct Subscription {
    core: Rc<Core>,
    id: u64,
    rx: mpsc::UnboundedReceiver<Result<StompMessage, Error>>,
    unread: Rc<Unread>,
}

impl Subscription {
    /// The subscription's `id` header.
    pub fn id(&self) -> String {
        self.id.to_string()
    }

    /// It ended on its own, the client going on (its error is its last item): the
    /// [unread limit](ConnectOptions::unread_limit) ended it, or the broker refused it.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn ended_alone(&self) -> bool {
        self.unread.ended.get()
    }

    /// Keeps `message` (read from this subscription) counted against the unread limit
    /// until the [`Held`] is dropped: while the JS client's `for await` has not taken it.
    /// `None` where the limit does not apply.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn hold(&self, message: &StompMessage) -> Option<Held> {
        if !self.unread.limited {
            return None;
        }
        let size = unread_size(&message.frame);
        self.unread.add(size);
        Some(Held {
            unread: self.unread.clone(),
            size,
        })
    }
}

/// A message's bytes, counted against its subscription's unread limit until dropped.
#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub(crate) struct Held {
    unread: Rc<Unread>,
    size: usize,
}

#[cfg(all(target_arch = "wasm32", feature = "js"))]
impl Drop for Held {
    fn drop(&mut self) {
        self.unread.release(self.size);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Stream for Subscription {
    type Item = Result<StompMessage, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.rx).poll_next(cx);
        if let Poll::Ready(Some(Ok(message))) = &item {
            self.unread.release(unread_size(&message.frame));
        }
        item
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let removed = self.core.inner.borrow_mut().subs.remove(&self.id);
        if removed.is_some() {
            self.core
                .send_on_connection(&Frame::new("UNSUBSCRIBE").header("id", self.id.to_string()));
        }
    }
}

/// A message from a [`Subscription`]: headers, body, and in the client ack modes
/// [`ack`](Self::ack)/[`nack`](Self::nack).
pub struct StompMessage {
    frame: Frame,
    ack_mode: AckMode,
    session: u64,
    core: Weak<Core>,
}

impl std::fmt::Debug for StompMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StompMessage")
            .field("headers", &self.frame.headers)
            .field("body", &String::from_utf8_lossy(&self.frame.body))
            .finish()
    }
}

impl StompMessage {
    /// All headers in wire order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.frame.headers
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.frame.get(name)
    }

    /// The `destination` header.
    pub fn destination(&self) -> Option<&str> {
        self.frame.get("destination")
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.frame.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.frame.body).into_owned()
    }

    /// The whole `MESSAGE` frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    fn ack_frame(
        &self,
        command: &str,
        transaction: Option<&str>,
    ) -> Result<(Rc<Core>, Frame), Error> {
        if self.ack_mode == AckMode::Auto {
            return Err(Error::InvalidState(
                "messages of an auto-ack subscription need no ack".into(),
            ));
        }
        let Some(id) = self.frame.get("ack") else {
            return Err(Error::Stomp {
                message: "the MESSAGE has no ack header".into(),
                body: String::new(),
            });
        };
        let core = self.core.upgrade().ok_or(Error::SocketClosed)?;
        let mut f = Frame::new(command).header("id", id);
        if let Some(tx) = transaction {
            f = f.header("transaction", tx);
        }
        Ok((core, f))
    }

    async fn acknowledge(&self, command: &str, transaction: Option<&str>) -> Result<(), Error> {
        let (core, frame) = self.ack_frame(command, transaction)?;
        core.send(frame, Some(self.session)).await.map(drop)
    }

    /// Acknowledges the message (client modes; in `client` mode also every earlier one).
    /// Resolves when the `ACK` is handed to the socket. After the connection was lost it is
    /// an `Err`; an `ACK` handed over whose bytes never left the browser before the
    /// connection died is not sent to the next session either. Either way the broker
    /// redelivers the message.
    pub async fn ack(&self) -> Result<(), Error> {
        self.acknowledge("ACK", None).await
    }

    /// Tells the broker the message was not processed; RabbitMQ requeues it and
    /// delivers it again.
    pub async fn nack(&self) -> Result<(), Error> {
        self.acknowledge("NACK", None).await
    }
}

/// A transaction from [`StompClient::begin`]. Dropped without
/// [`commit`](Self::commit) it is aborted.
pub struct Transaction {
    core: Rc<Core>,
    id: String,
    session: u64,
    done: bool,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("id", &self.id).finish()
    }
}

impl Transaction {
    /// The `transaction` header's value.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends within the transaction: the broker delivers it on commit.
    pub async fn send(
        &self,
        destination: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<(), Error> {
        let frame = first(
            send_frame(destination, body.into(), headers),
            "transaction",
            &self.id,
        );
        self.core.send(frame, Some(self.session)).await.map(drop)
    }

    /// Acknowledges `message` within the transaction. Like [`send`](Self::send), an `Err`
    /// if the connection was lost since `begin` (the broker aborted the transaction), and
    /// for a message of another client.
    pub async fn ack(&self, message: &StompMessage) -> Result<(), Error> {
        self.owns(message)?;
        message.acknowledge("ACK", Some(&self.id)).await
    }

    /// Negatively acknowledges `message` within the transaction (errors as for
    /// [`ack`](Self::ack)).
    pub async fn nack(&self, message: &StompMessage) -> Result<(), Error> {
        self.owns(message)?;
        message.acknowledge("NACK", Some(&self.id)).await
    }

    /// `message` came to this transaction's client in this transaction's session: an
    /// `ACK` naming the transaction would otherwise go to a broker that never heard of it
    /// (an `ERROR`, and by the spec a closed connection).
    fn owns(&self, message: &StompMessage) -> Result<(), Error> {
        if !message
            .core
            .upgrade()
            .is_some_and(|core| Rc::ptr_eq(&core, &self.core))
        {
            return Err(Error::InvalidState(
                "the message came to another StompClient".into(),
            ));
        }
        if message.session != self.session {
            return Err(stale());
        }
        Ok(())
    }

    /// Commits and waits for the broker's receipt. If the connection was lost since
    /// `begin`, the broker has aborted the transaction: `Err`.
    pub async fn commit(mut self) -> Result<(), Error> {
        self.done = true;
        let frame = Frame::new("COMMIT").header("transaction", &self.id);
        self.core.send_with_receipt(frame, Some(self.session)).await
    }

    /// Aborts and waits for the broker's receipt.
    pub async fn abort(mut self) -> Result<(), Error> {
        self.done = true;
        let frame = Frame::new("ABORT").header("transaction", &self.id);
        self.core.send_with_receipt(frame, Some(self.session)).await
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.done {
            self.core.send_in_session(
                &Frame::new("ABORT").header("transaction", &self.id),
                self.session,
            );
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::{Action, Config, Machine, OpenHook};

    fn msg(frame: Frame) -> Message {
        to_message(&frame)
    }

    fn send(destination: &str) -> Frame {
        send_frame(destination, b"body".to_vec(), &[])
    }

    #[test]
    fn session_bound_frames_are_told_from_plain_sends() {
        let cases = [
            (msg(send("/queue/a")), Some((false, None))),
            (
                msg(send("/queue/a").header("receipt", "r-1")),
                Some((false, Some("r-1".to_owned()))),
            ),
            (
                msg(send("/queue/a").header("transaction", "tx-1")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("ACK").header("id", "a:b")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("NACK").header("id", "1")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("SUBSCRIBE").header("id", "1")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("UNSUBSCRIBE").header("id", "1")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("BEGIN").header("transaction", "t")),
                Some((true, None)),
            ),
            (
                msg(Frame::new("COMMIT")
                    .header("transaction", "t")
                    .header("receipt", "r-9")),
                Some((true, Some("r-9".to_owned()))),
            ),
            (
                msg(Frame::new("ABORT").header("transaction", "t")),
                Some((true, None)),
            ),
            (msg(Frame::new("DISCONNECT")), Some((true, None))),
            (msg(Frame::new("CONNECT")), Some((true, None))),
            // Not STOMP (sent on the socket directly), or only heart-beats: not ours to judge.
            (Message::Text("hello".into()), None),
            (Message::Text("\n".into()), None),
            (Message::Binary(vec![0xff, 0, 1]), None),
            (
                Message::Text("\r\n\nSEND\ndestination:/q\n\nx\0".into()),
                Some((false, None)),
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(classify(&message), expected, "{message:?}");
        }
    }

    /// The socket's machine with the client's open hook, as the browser would drive it.
    fn machine(inner: &Rc<RefCell<Inner>>) -> Machine {
        let state = Rc::downgrade(inner);
        let connect = msg(Frame::new("CONNECT").header("accept-version", "1.2"));
        let hook: OpenHook = Rc::new(RefCell::new(move |o: &mut Opening<'_>| {
            open_session(&state, &connect, o)
        }));
        let config = Config {
            on_open: Some(hook),
            connect_timeout: None,
            ..Config::default()
        };
        Machine::new(config, 1, Duration::ZERO)
    }

    /// The Send actions' frames (command and first header) and events.
    fn run(m: &mut Machine) -> (Vec<String>, Vec<Event>) {
        let (mut sent, mut events) = (vec![], vec![]);
        while let Some(action) = m.poll_action() {
            match action {
                Action::Send(seq) => {
                    let bytes = m.outgoing(seq).expect("kept until taken").as_bytes();
                    sent.push(match peek_head(bytes) {
                        Some((command, headers)) => match headers.first() {
                            Some((name, value)) => format!("{command} {name}:{value}"),
                            None => command,
                        },
                        None => format!("{bytes:?}"),
                    })
                }
                Action::Emit(event) => events.push(event),
                _ => {}
            }
        }
        (sent, events)
    }

    fn sub(destination: &str) -> Sub {
        Sub {
            destination: destination.into(),
            ack: AckMode::Client,
            headers: vec![],
            tx: mpsc::unbounded().0,
            unread: Rc::default(),
        }
    }

    #[test]
    fn every_connection_starts_with_connect_and_the_subscriptions() {
        let inner = Rc::new(RefCell::new(Inner::default()));
        let mut m = machine(&inner);
        run(&mut m);
        m.handle_open(Duration::ZERO, "v12.stomp".into());
        assert_eq!(run(&mut m).0, vec!["CONNECT accept-version:1.2"]);
        inner.borrow_mut().connected = true;
        inner.borrow_mut().subs.insert(7, sub("/queue/a"));
        m.handle_close(Duration::from_millis(1), CloseFrame::abnormal(""), 0);
        run(&mut m);
        let t = m.poll_timeout().unwrap();
        m.handle_timeout(t);
        m.handle_open(t, "v12.stomp".into());
        assert_eq!(
            run(&mut m).0,
            vec!["CONNECT accept-version:1.2", "SUBSCRIBE receipt:sub-7"]
        );
        assert!(!inner.borrow().connected, "no session until CONNECTED");
    }

    #[test]
    fn untransmitted_plain_sends_wait_for_the_new_sessions_connected_and_session_frames_are_dropped(
    ) {
        let inner = Rc::new(RefCell::new(Inner::default()));
        inner.borrow_mut().subs.insert(1, sub("/queue/a"));
        let mut m = machine(&inner);
        run(&mut m);
        m.handle_open(Duration::ZERO, String::new());
        run(&mut m);
        // CONNECTED: `on_connected` releases the queue.
        m.release_queue(Duration::ZERO);
        let now = Duration::from_millis(1);
        // This one leaves the browser; everything after it does not.
        m.send(now, msg(send("/queue/left").header("receipt", "r-1")))
            .unwrap();
        m.handle_buffered(now, 0);
        let stranded = [
            msg(send("/queue/a").header("receipt", "r-2")),
            msg(Frame::new("ACK").header("id", "m-1")),
            msg(Frame::new("BEGIN").header("transaction", "tx-1")),
            msg(send("/queue/a").header("transaction", "tx-1")),
            msg(Frame::new("COMMIT")
                .header("transaction", "tx-1")
                .header("receipt", "r-3")),
            msg(Frame::new("SUBSCRIBE").header("id", "2")),
            Message::Text("raw".into()),
            msg(send("/queue/b")),
            msg(Frame::new("UNSUBSCRIBE").header("id", "2")),
        ];
        let bytes = stranded.iter().map(Message::len).sum();
        for message in stranded {
            m.send(now, message).unwrap();
        }
        let mut receipts = vec![];
        for id in ["r-1", "r-2", "r-3"] {
            let (tx, rx) = oneshot::channel();
            // r-3 is the COMMIT's.
            inner
                .borrow_mut()
                .receipts
                .insert(id.into(), Pending::new(Some(tx), id != "r-3"));
            receipts.push(rx);
        }
        run(&mut m);
        m.handle_close(now, CloseFrame::abnormal(""), bytes);
        assert!(run(&mut m).1.contains(&Event::Requeued { count: 9 }));
        assert!(
            receipts.iter_mut().all(|r| r.try_recv() == Ok(None)),
            "nothing settled before the next open"
        );
        let t = m.poll_timeout().unwrap();
        m.handle_timeout(t);
        m.handle_open(t, String::new());
        let (sent, events) = run(&mut m);
        assert_eq!(
            sent,
            vec!["CONNECT accept-version:1.2", "SUBSCRIBE receipt:sub-1"],
            "the queue waits for this session's CONNECTED: a refused CONNECT would drop it"
        );
        m.release_queue(t);
        assert_eq!(
            run(&mut m).0,
            vec![
                "SEND destination:/queue/a",
                &format!("{:?}", b"raw"),
                "SEND destination:/queue/b",
            ]
        );
        assert!(
            events.contains(&Event::Discarded { count: 6 }),
            "{events:?}"
        );
        assert_eq!(
            receipts[0].try_recv(),
            Ok(Some(Err(lost_before_receipt()))),
            "left on the lost connection: maybe processed"
        );
        assert_eq!(
            receipts[1].try_recv(),
            Ok(None),
            "goes again: the new session's RECEIPT settles it"
        );
        assert!(inner.borrow().receipts.contains_key("r-2"));
        assert_eq!(
            receipts[2].try_recv(),
            Ok(Some(Err(not_sent()))),
            "dropped with the old session"
        );
    }

    #[test]
    fn a_broker_error_fails_receipts_when_their_frames_are_known_not_to_go_again() {
        let inner = Rc::new(RefCell::new(Inner::default()));
        let mut m = machine(&inner);
        run(&mut m);
        m.handle_open(Duration::ZERO, String::new());
        run(&mut m);
        inner.borrow_mut().connected = true;
        m.release_queue(Duration::ZERO);
        let now = Duration::from_millis(1);
        // r-1 and r-bad leave the browser; r-2 is still behind backpressure when the ERROR
        // (about r-bad) comes.
        m.send(now, msg(send("/queue/a").header("receipt", "r-1")))
            .unwrap();
        m.send(now, msg(send("/queue/bad").header("receipt", "r-bad")))
            .unwrap();
        m.handle_buffered(now, 0);
        let stranded = msg(send("/queue/c").header("receipt", "r-2"));
        let bytes = stranded.len();
        m.send(now, stranded).unwrap();
        run(&mut m);
        let mut receipts = vec![];
        for id in ["r-1", "r-bad", "r-2"] {
            let (tx, rx) = oneshot::channel();
            inner
                .borrow_mut()
                .receipts
                .insert(id.into(), Pending::new(Some(tx), true));
            receipts.push(rx);
        }
        let error_frame = Frame::new("ERROR")
            .header("message", "no such destination")
            .header("receipt-id", "r-bad");
        let error = Error::Stomp {
            message: "no such destination".into(),
            body: String::new(),
        };
        inner.borrow_mut().on_broker_error(&error_frame, &error);
        assert_eq!(
            receipts[1].try_recv(),
            Ok(Some(Err(error.clone()))),
            "the frame the ERROR names was refused"
        );
        assert_eq!(
            receipts[0].try_recv(),
            Ok(None),
            "settled when the connection is gone"
        );
        assert_eq!(receipts[2].try_recv(), Ok(None), "its frame may still go");
        // The broker closes the connection; r-2 never left the browser.
        m.handle_close(now, CloseFrame::abnormal(""), bytes);
        assert!(run(&mut m).1.contains(&Event::Requeued { count: 1 }));
        let t = m.poll_timeout().unwrap();
        m.handle_timeout(t);
        m.handle_open(t, String::new());
        assert_eq!(run(&mut m).0, vec!["CONNECT accept-version:1.2"]);
        m.release_queue(t); // CONNECTED
        assert_eq!(
            run(&mut m).0,
            vec!["SEND destination:/queue/c"],
            "r-2 goes again in the new session"
        );
        assert_eq!(
            receipts[0].try_recv(),
            Ok(Some(Err(error.clone()))),
            "left before the ERROR, no RECEIPT: failed with the ERROR, not as lost"
        );
        assert_eq!(
            receipts[2].try_recv(),
            Ok(None),
            "goes again: the new session's RECEIPT settles it"
        );
        assert!(inner.borrow().receipts.contains_key("r-2"));
        // The ERROR belonged to the old connection: losing this one is just a loss.
        inner.borrow_mut().connected = true;
        let later = t + Duration::from_millis(1);
        m.handle_buffered(later, 0);
        m.handle_close(later, CloseFrame::abnormal(""), 0);
        run(&mut m);
        let t = m.poll_timeout().unwrap();
        m.handle_timeout(t);
        m.handle_open(t, String::new());
        run(&mut m);
        assert_eq!(receipts[2].try_recv(), Ok(Some(Err(lost_before_receipt()))));
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// A pending receipt in `inner`, for a `SEND` or not.
    fn waiting(inner: &mut Inner, id: &str, send: bool) -> oneshot::Receiver<Result<(), Error>> {
        let (tx, rx) = oneshot::channel();
        inner
            .receipts
            .insert(id.into(), Pending::new(Some(tx), send));
        rx
    }

    fn unknown_destination() -> (Frame, Error) {
        let error = Error::Stomp {
            message: "Unknown destination".into(),
            body: String::new(),
        };
        let frame = Frame::new("ERROR").header("message", "Unknown destination");
        (frame, error)
    }

    #[test]
    fn on_a_session_that_goes_on_a_later_receipt_fails_what_the_error_answered() {
        let mut inner = Inner::default();
        let (error_frame, error) = unknown_destination();
        assert!(
            !inner.on_broker_error(&error_frame, &error),
            "nothing pending: nothing to find out"
        );
        // Not SENDs (say SUBSCRIBEs): their RECEIPTs come in the order of their frames.
        let mut bad = waiting(&mut inner, "r-bad", false);
        let mut fine = waiting(&mut inner, "r-fine", false);
        assert!(inner.on_broker_error(&error_frame, &error), "two marked");
        assert!(
            !inner.on_broker_error(&error_frame, &error),
            "marked already"
        );
        // Handed over after the ERROR: the probe, and another frame.
        inner
            .receipts
            .insert("probe-1".into(), Pending::new(None, false));
        let mut later = waiting(&mut inner, "r-later", false);
        // r-fine's RECEIPT comes (the broker went on): r-bad, before it, never will.
        assert!(!inner.on_receipt("r-fine", ms(0)), "nothing overtaken");
        assert_eq!(fine.try_recv(), Ok(Some(Ok(()))));
        assert_eq!(bad.try_recv(), Ok(Some(Err(error.clone()))));
        assert_eq!(later.try_recv(), Ok(None));
        inner.on_receipt("probe-1", ms(0));
        assert_eq!(
            later.try_recv(),
            Ok(None),
            "after the probe: not the ERROR's"
        );
        // Without an ERROR, a RECEIPT settles its own receipt only.
        let mut unmarked = waiting(&mut inner, "r-unmarked", false);
        inner.on_receipt("r-later", ms(0));
        assert_eq!(later.try_recv(), Ok(Some(Ok(()))));
        assert_eq!(unmarked.try_recv(), Ok(None));
        let ids: Vec<_> = inner.receipts.0.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["r-unmarked"]);
        inner.on_receipt("unknown", ms(0));
        // The ERROR names the frame: that receipt fails at once, the others only get marked.
        let named = Frame::new("ERROR").header("receipt-id", "r-unmarked");
        assert!(!inner.on_broker_error(&named, &error));
        assert_eq!(unmarked.try_recv(), Ok(Some(Err(error))));
        assert!(inner.receipts.0.is_empty());
    }

    #[test]
    fn a_marked_send_overtaken_by_a_later_receipt_has_a_grace_for_its_own() {
        let mut inner = Inner::default();
        let (error_frame, error) = unknown_destination();
        let grace = SEND_RECEIPT_GRACE;
        // Two SENDs, one refused, and an ABORT, all out before the ERROR about the first.
        let mut refused = waiting(&mut inner, "r-refused", true);
        let mut fine = waiting(&mut inner, "r-fine", true);
        let mut abort = waiting(&mut inner, "r-abort", false);
        assert!(inner.on_broker_error(&error_frame, &error));
        // The ABORT's RECEIPT comes first (the broker confirms SENDs later): it overtakes
        // both SENDs and fails neither.
        assert!(inner.on_receipt("r-abort", ms(1000)), "two overtaken");
        assert_eq!(abort.try_recv(), Ok(Some(Ok(()))));
        assert_eq!(refused.try_recv(), Ok(None));
        assert_eq!(fine.try_recv(), Ok(None));
        assert_eq!(
            inner.expire(ms(1000) + grace - ms(1)),
            Some(ms(1)),
            "1 ms of grace left"
        );
        assert_eq!(refused.try_recv(), Ok(None));
        // The good SEND's RECEIPT comes within its grace.
        assert!(!inner.on_receipt("r-fine", ms(1500)), "overtaken already");
        assert_eq!(fine.try_recv(), Ok(Some(Ok(()))));
        assert_eq!(refused.try_recv(), Ok(None));
        // Overtaken later, so its grace ends later.
        let mut late = waiting(&mut inner, "r-late", true);
        assert!(inner.on_broker_error(&error_frame, &error));
        inner
            .receipts
            .insert("probe-2".into(), Pending::new(None, false));
        assert!(inner.on_receipt("probe-2", ms(1800)));
        // The refused one's grace is over: it fails with the ERROR; r-late's has 800 ms left.
        assert_eq!(inner.expire(ms(1000) + grace), Some(ms(800)));
        assert_eq!(refused.try_recv(), Ok(Some(Err(error.clone()))));
        assert_eq!(late.try_recv(), Ok(None));
        assert_eq!(inner.expire(ms(1800) + grace), None, "none left");
        assert_eq!(late.try_recv(), Ok(Some(Err(error))));
        assert!(inner.receipts.0.is_empty());
        // Unmarked SENDs are never overtaken.
        let mut plain = waiting(&mut inner, "r-plain", true);
        inner
            .receipts
            .insert("probe-3".into(), Pending::new(None, false));
        assert!(!inner.on_receipt("probe-3", ms(5000)));
        assert_eq!(inner.expire(Duration::MAX), None);
        assert_eq!(plain.try_recv(), Ok(None));
    }

    #[test]
    fn the_clients_own_headers_come_before_the_callers() {
        let caller = [
            ("receipt", "mine"),
            ("transaction", "theirs"),
            ("destination", "/x"),
        ];
        let frame = first(
            first(
                send_frame("/queue/a", b"hi".to_vec(), &caller),
                "transaction",
                "tx-1",
            ),
            "receipt",
            "r-1",
        );
        assert_eq!(frame.get("receipt"), Some("r-1"));
        assert_eq!(frame.get("transaction"), Some("tx-1"));
        assert_eq!(frame.get("destination"), Some("/queue/a"));
        // The open hook reads the receipt the same way the broker does.
        let message = Message::Binary(frame.encode());
        assert_eq!(classify(&message), Some((true, Some("r-1".to_owned()))));
    }

    #[test]
    fn outgoing_heart_beats_fit_a_browser_timer() {
        assert_eq!(outgoing_every(10_000, 5_000), Some(10_000));
        assert_eq!(outgoing_every(1_000, 20_000), Some(20_000));
        assert_eq!(outgoing_every(0, 5_000), None);
        assert_eq!(outgoing_every(5_000, 0), None);
        for (cx, sy) in [
            (u32::MAX, 1),
            (1, u32::MAX),
            (1 << 31, 10_000),
            ((1 << 31) + 4, 1),
            (i32::MAX as u32, 1),
        ] {
            let ms = outgoing_every(cx, sy).unwrap();
            // What gloo's Interval hands the browser (`millis as i32`): a negative delay
            // would run every few milliseconds.
            assert_eq!(ms as i32, i32::MAX, "{cx},{sy}: {ms}");
        }
    }

    #[test]
    fn each_connection_starts_with_the_heartbeat_of_recv_ms() {
        assert!(connect_heartbeat(0).is_none(), "no heart-beats wanted");
        let heartbeat = connect_heartbeat(300).expect("a heartbeat");
        assert!(heartbeat.validate().is_ok());
        let every = Duration::from_millis(300);
        assert_eq!((heartbeat.interval, heartbeat.timeout), (every, every));
        assert_eq!(heartbeat.ping, Message::Text("\n".into()));
    }
}
