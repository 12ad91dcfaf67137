//! The public handles: [`WebSocket`], its [`Builder`], and the halves of [`WebSocket::split`].

use crate::browser::{
    later, BinaryType, BlobReader, CloseOutcome, Failure, Inner, Resolve, Shared, Snapshot, Target,
    TargetProvider,
};
use crate::core::{
    Config, InboundOverflow, OpenHook, Opening, ReconnectPolicy, DEFAULT_LOW_WATER_MARK,
};
use crate::{Backoff, CloseFrame, Error, Event, Heartbeat, Message, State};
use futures_core::Stream;
use futures_sink::Sink;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Owns the shared state; when the last handle goes, the socket is closed and every
/// listener and timer removed, so nothing of resocket runs afterwards.
struct Handle {
    shared: Shared,
    /// The state as of the last event, and whether the `Receiver` is gone: read and
    /// written while `shared` is borrowed.
    snapshot: Rc<Snapshot>,
}

impl Handle {
    fn new(shared: Shared) -> Handle {
        let snapshot = shared.borrow().snapshot();
        Handle { shared, snapshot }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.shared.try_borrow_mut() {
            inner.shutdown();
        }
    }
}

/// What a handle method answers when it is called from inside one of the socket's own
/// callbacks (`on_open`, `reconnect_if`, `target_fn`, a pong matcher), where the state is
/// busy: a neutral value or an error, never a panic.
trait Busy {
    fn busy(handle: &Handle) -> Self;
}

impl Busy for State {
    fn busy(handle: &Handle) -> Self {
        handle.snapshot.state.get()
    }
}

#[cfg(feature = "stomp")]
impl Busy for bool {
    /// [`Sender::is_live`]'s answer: the last state seen, the local close unknown.
    fn busy(handle: &Handle) -> Self {
        handle.snapshot.state.get() == State::Open
    }
}

impl Busy for usize {
    fn busy(_: &Handle) -> Self {
        0
    }
}

impl Busy for String {
    fn busy(_: &Handle) -> Self {
        String::new()
    }
}

impl Busy for Option<Duration> {
    fn busy(_: &Handle) -> Self {
        None
    }
}

impl Busy for Vec<Message> {
    fn busy(_: &Handle) -> Self {
        Vec::new()
    }
}

impl<T> Busy for Result<T, Error> {
    fn busy(_: &Handle) -> Self {
        Err(Error::InvalidState(
            "called from inside one of this socket's own callbacks".into(),
        ))
    }
}

impl Busy for futures_channel::mpsc::UnboundedReceiver<Event> {
    fn busy(_: &Handle) -> Self {
        // A subscription that ends at once.
        futures_channel::mpsc::unbounded().1
    }
}

impl Handle {
    /// Calls into the shared state, then wakes the tasks whose wait may be over; they are
    /// woken after the borrow ends. From inside one of the socket's own callbacks the
    /// state is borrowed already: the answer is then [`Busy::busy`].
    fn with<T: Busy>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        self.try_with(f).unwrap_or_else(|| T::busy(self))
    }

    /// [`with`](Self::with) for a poll. Busy, it asks to be polled again at once: the
    /// callback that holds the state returns before the task runs again, and a `Pending`
    /// must always come with a wake to come.
    fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Inner, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.try_with(|i| f(i, cx)).unwrap_or_else(|| {
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    }

    fn try_with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> Option<T> {
        let mut inner = self.shared.try_borrow_mut().ok()?;
        let result = f(&mut inner);
        let wake = inner.take_notified();
        drop(inner);
        crate::browser::wake_all(&self.shared, wake);
        Some(result)
    }
}

/// Configures a [`WebSocket`] before connecting. Start with [`WebSocket::builder`].
///
/// ```no_run
/// use resocket::{Backoff, Heartbeat, WebSocket};
/// use std::time::Duration;
///
/// # fn main() -> Result<(), resocket::Error> {
/// let ws = WebSocket::builder("wss://example.com/live")
///     .protocols(["v2.chat", "v1.chat"])
///     .reconnect(Backoff::new().cap(Duration::from_secs(10)))
///     .heartbeat(Heartbeat::new(Duration::from_secs(20), Duration::from_secs(5)))
///     .high_water_mark(512 * 1024)
///     .connect()?;
/// # Ok(()) }
/// ```
pub struct Builder {
    url: String,
    protocols: Vec<String>,
    provider: Option<TargetProvider>,
    /// `None` for [`BinaryType::ArrayBuffer`]. Made in [`Builder::binary_type`] and only
    /// there, so an app that never asks for Blobs carries none of the code that reads them.
    blobs: Option<BlobReader>,
    config: Config,
    /// The low-water mark was set: the high one no longer moves it.
    low_water_mark_set: bool,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("url", &self.url)
            .field("protocols", &self.protocols)
            .field("binary_type", &BinaryType::of(self.blobs))
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Subprotocols to offer
    /// ([`Sec-WebSocket-Protocol`](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket/WebSocket#protocols)),
    /// most preferred first. The server's choice is [`WebSocket::protocol`]. If the server
    /// accepts none of them, the browser fails the connection.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// How the browser hands over binary messages; [`BinaryType::ArrayBuffer`] by default.
    pub fn binary_type(mut self, binary_type: BinaryType) -> Self {
        self.blobs = binary_type.reader();
        self
    }

    /// Reconnect with this backoff (the default is [`Backoff::default`]).
    pub fn reconnect(mut self, backoff: Backoff) -> Self {
        self.config.reconnect = Some(backoff);
        self
    }

    /// Never reconnect: the first close ends the stream.
    pub fn no_reconnect(mut self) -> Self {
        self.config.reconnect = None;
        self
    }

    /// Decide by close frame whether to reconnect after the server or the network closed
    /// the connection, instead of [`default_reconnect_policy`](crate::default_reconnect_policy).
    ///
    /// The policy runs inside resocket's event handling: methods of this socket called from
    /// it cannot act (they report the state as of the last event, neutral values, or
    /// [`Error::InvalidState`]), so decide from the close frame.
    pub fn reconnect_if(mut self, policy: impl Fn(&CloseFrame) -> bool + 'static) -> Self {
        let policy: ReconnectPolicy = Rc::new(policy);
        self.config.reconnect_if = Some(policy);
        self
    }

    /// Runs `hook` every time a connection opens (the first one and each reconnection),
    /// before anything queued is sent on it. For protocols on top of the socket whose
    /// session lives and dies with the connection: a login, a `CONNECT`, subscriptions.
    ///
    /// The hook gets an [`Opening`] with the [`attempt`](Opening::attempt) number and may:
    /// - [`send_first`](Opening::send_first) messages: they go out before everything queued,
    ///   in the order given, even above the high-water mark, and never count against the
    ///   queue capacity. They belong to this connection: if it dies before the browser
    ///   transmitted them they are not re-queued (the hook runs again on the next open), and
    ///   they are not in [`take_unsent`](WebSocket::take_unsent).
    /// - [`retain`](Opening::retain) queued messages: those it removes are returned to the
    ///   hook (nothing vanishes unseen) and counted in an [`Event::Discarded`] after the
    ///   [`Event::Open`]. After an abnormal close the queue starts with the messages the
    ///   browser never transmitted, so this is where messages bound to the old connection's
    ///   session (acknowledgements, session ids) are dropped instead of reaching a new
    ///   session that does not know them.
    /// - [`hold_queue`](Opening::hold_queue): keep the queue from this connection until
    ///   [`release_queue`](WebSocket::release_queue), e.g. until the server accepted the
    ///   login sent first.
    ///
    /// The hook runs inside resocket's event handling: like the policy, it cannot act
    /// through methods of this socket (they answer with the state as of the last event,
    /// neutral values, or [`Error::InvalidState`]). A second call replaces the hook.
    ///
    /// ```no_run
    /// use resocket::{Message, WebSocket};
    ///
    /// # fn main() -> Result<(), resocket::Error> {
    /// let ws = WebSocket::builder("wss://example.com/live")
    ///     .on_open(|opening| {
    ///         opening.send_first(Message::Text(r#"{"type":"login","token":"…"}"#.into()));
    ///         // Replies to the old session's requests mean nothing to the new one.
    ///         let stale = opening.retain(|m| !matches!(m, Message::Text(t) if t.starts_with(r#"{"type":"reply""#)));
    ///         drop(stale); // or log / hand them to the application
    ///     })
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn on_open(mut self, hook: impl FnMut(&mut Opening<'_>) + 'static) -> Self {
        let hook: OpenHook = Rc::new(RefCell::new(hook));
        self.config.on_open = Some(hook);
        self
    }

    /// Takes the open hook set so far, for a protocol layer that installs its own and runs
    /// the application's after it.
    #[cfg(feature = "stomp")]
    pub(crate) fn take_on_open(&mut self) -> Option<OpenHook> {
        self.config.on_open.take()
    }

    /// Takes the reconnect policy set so far, for a protocol layer that combines it with
    /// its own.
    /// The [`close_timeout`](Self::close_timeout) set (the STOMP client bounds its
    /// `DISCONNECT` by it).
    #[cfg(feature = "stomp")]
    pub(crate) fn close_timeout_set(&self) -> Duration {
        self.config.close_timeout
    }

    #[cfg(feature = "stomp")]
    pub(crate) fn take_reconnect_if(&mut self) -> Option<ReconnectPolicy> {
        self.config.reconnect_if.take()
    }

    /// Detect dead connections with an application-level heartbeat (off by default).
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.config.heartbeat = Some(heartbeat);
        self
    }

    /// The Sink waits while the browser's
    /// [`bufferedAmount`](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket/bufferedAmount)
    /// is above this many bytes (default 1 MiB: about 80 ms of a 100 Mbit/s uplink, enough
    /// to keep a fast link busy, small enough to bound memory and what a dead connection
    /// can strand). Unless [`low_water_mark`](Self::low_water_mark) is set, the low-water
    /// mark follows: a quarter of this, at most 256 KiB.
    pub fn high_water_mark(mut self, bytes: usize) -> Self {
        self.config.high_water_mark = bytes;
        if !self.low_water_mark_set {
            self.config.low_water_mark = DEFAULT_LOW_WATER_MARK.min(bytes / 4);
        }
        self
    }

    /// Once above the high-water mark, the Sink waits until `bufferedAmount` is at or
    /// below this many bytes (default 256 KiB, or a quarter of a lower
    /// [`high_water_mark`](Self::high_water_mark)), so it does not flip on every message.
    /// More than the high-water mark is an [`Error::InvalidConfig`] from `connect`.
    pub fn low_water_mark(mut self, bytes: usize) -> Self {
        self.config.low_water_mark = bytes;
        self.low_water_mark_set = true;
        self
    }

    /// How many messages may wait while the socket is connecting or reconnecting (default
    /// 1024); when full, the Sink waits. Nothing is ever dropped.
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.config.queue_capacity = messages;
        self
    }

    /// Abandon an attempt still connecting after this long (default 10 s; `None`: wait
    /// for the browser, which may take minutes for an unreachable host).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long `close()` waits for the closing handshake before abandoning the socket
    /// (default 5 s). Browsers send the close frame only after all buffered data, so a
    /// server that stopped reading would otherwise hold `close()` until TCP gives up. The
    /// Sink's close waits this long first for the queue to drain into the browser. Zero
    /// is an [`Error::InvalidConfig`] from `connect`.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// Choose the URL and subprotocols anew for every attempt, e.g. to carry a fresh auth
    /// token. Called with the attempt number (0 for the first connection); an `Err` ends
    /// the socket with that error. Replaces the builder's URL and protocols. Like the
    /// policy, it runs inside resocket's event handling, where methods of this socket
    /// cannot act (see [`reconnect_if`](Self::reconnect_if)). For a target that takes a
    /// while (a token fetched first), [`target_async`](Self::target_async).
    pub fn target_fn(mut self, mut f: impl FnMut(u32) -> Result<Target, Error> + 'static) -> Self {
        self.provider = Some(Box::new(move |attempt| Resolve::Now(f(attempt))));
        self
    }

    /// [`target_fn`](Self::target_fn) for a target that takes a while, such as a token
    /// fetched from your server before every attempt. `f` is called with the attempt number
    /// (as for `target_fn`, where methods of this socket cannot act); the future it returns
    /// runs on its own, so it may call the socket's handles (`close()` to give up for good).
    /// A handle that the future holds keeps the socket alive until the future ends or is
    /// given up: with no connect timeout, a future that never ends would keep it for ever.
    ///
    /// - Meanwhile the socket is [`Connecting`](State::Connecting), and the
    ///   [connect timeout](Self::connect_timeout) counts from the attempt's start.
    /// - A `close()`, a [`reconnect`](WebSocket::reconnect), the connect timeout or the
    ///   socket dropped give the attempt up: the future is dropped and never polled again.
    ///   A browser request it awaits goes on (dropping a `JsFuture` cancels nothing): pass
    ///   the fetch an `AbortSignal` and abort it from a guard the future owns, if a token
    ///   server that hangs must not collect one pending request per attempt (the JS API's
    ///   url function gets such a signal). Abort from a task of its own
    ///   (`wasm_bindgen_futures::spawn_local`): the drop may come while the socket is busy,
    ///   and `abort()` runs the signal's listeners at once.
    /// - `Ok(target)`: the attempt connects there. A bad URL or subprotocol ends the socket
    ///   with that error, as from `target_fn`, but later: `connect()` has returned, so the
    ///   error comes through [`opened`](WebSocket::opened) and the stream.
    /// - `Err(e)`: this attempt failed, not the socket. It ends as a connection that could
    ///   not open: [`Event::Close`] with 1006 and the reason `"target: {e}"` (no
    ///   [`Event::Error`]: the browser had no part in it), which the reconnect policy
    ///   retries by default (with no reconnection, the socket ends with
    ///   [`Error::ConnectFailed`] carrying that frame).
    ///
    /// ```no_run
    /// use resocket::{Error, Target, WebSocket};
    ///
    /// async fn fetch_token() -> Result<String, Error> {
    ///     // e.g. gloo-net's `Request::get("/api/ws-token").send().await`
    /// #   Ok(String::new())
    /// }
    ///
    /// # fn main() -> Result<(), Error> {
    /// let ws = WebSocket::builder("")
    ///     .target_async(|_attempt| async {
    ///         let token = fetch_token().await?;
    ///         Ok(Target {
    ///             url: format!("wss://example.com/live?token={token}"),
    ///             protocols: Vec::new(),
    ///         })
    ///     })
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn target_async<F, Fut>(mut self, mut f: F) -> Self
    where
        F: FnMut(u32) -> Fut + 'static,
        Fut: Future<Output = Result<Target, Error>> + 'static,
    {
        self.provider = Some(Box::new(move |attempt| {
            let future = f(attempt);
            later(
                async move { (future.await).map_err(|e| Failure::Attempt(format!("target: {e}"))) },
            )
        }));
        self
    }

    /// A provider that may answer at once or later: the JS API's `url` function.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn target_provider(
        mut self,
        provider: impl FnMut(u32) -> Resolve + 'static,
    ) -> Self {
        self.provider = Some(Box::new(provider));
        self
    }

    /// Bounds the memory held by incoming messages the application has not read yet.
    ///
    /// The browser gives a WebSocket no way to slow the sender down: a server that sends
    /// faster than the app reads fills memory until the tab dies. With a limit, once more
    /// than `bytes` of messages wait to be read (text counted as UTF-8, binary as its
    /// length), `on_full` decides: [`InboundOverflow::Close`] ends the connection,
    /// [`InboundOverflow::DropNewest`] drops what arrives and tells the reader how many in
    /// the stream. A message is always kept when nothing else waits, so a reader that
    /// keeps up receives messages larger than the limit. Off by default: nothing is dropped.
    ///
    /// ```no_run
    /// use resocket::{InboundOverflow, WebSocket};
    ///
    /// # fn main() -> Result<(), resocket::Error> {
    /// let ws = WebSocket::builder("wss://example.com/ticks")
    ///     .inbound_limit(8 * 1024 * 1024, InboundOverflow::DropNewest)
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn inbound_limit(mut self, bytes: usize, on_full: InboundOverflow) -> Self {
        self.config.inbound_limit = Some((bytes, on_full));
        self
    }

    /// Checks the configuration and the URL and starts connecting in the background.
    ///
    /// Returns at once; await [`WebSocket::opened`] to wait for the connection, or just
    /// send: messages wait in the queue until it opens.
    pub fn connect(self) -> Result<WebSocket, Error> {
        let provider = self.provider.unwrap_or_else(|| {
            let target = Target {
                url: self.url,
                protocols: self.protocols,
            };
            Box::new(move |_| Resolve::Now(Ok(target.clone())))
        });
        let shared = Inner::start(self.config, provider, self.blobs)?;
        Ok(WebSocket {
            handle: Rc::new(Handle::new(shared)),
        })
    }
}

/// A resilient browser WebSocket: a `Stream` of incoming messages and a `Sink` for
/// outgoing ones that lives across reconnections.
///
/// Transient disconnects never end or error the stream; watch them in [`events`](Self::events)
/// or [`state`](Self::state). The stream ends (`None`) only when the socket is closed for
/// good, after one `Err` if that end was not asked for.
///
/// Dropping the last handle (this, or both halves of [`split`](Self::split)) closes the
/// connection with 1000 and removes every listener and timer.
pub struct WebSocket {
    handle: Rc<Handle>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("url", &self.url())
            .field("state", &self.state())
            .finish()
    }
}

/// The sending half of a [`WebSocket`]: `Clone`, so several components can send.
///
/// All clones share one connection, so closing any of them closes it for all, the
/// [`Receiver`] included: [`close`](Self::close), and `SinkExt::close`, which is also what
/// `StreamExt::forward` calls when its stream ends. To pipe a stream into a socket that
/// should outlive it, use `SinkExt::send_all` or `StreamExt::for_each`.
#[derive(Clone)]
pub struct Sender {
    handle: Rc<Handle>,
}

/// The receiving half of a [`WebSocket`]. Dropping it while the [`Sender`] lives on stops
/// keeping incoming messages (heartbeat pongs still count as signs of life).
pub struct Receiver {
    handle: Rc<Handle>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Dropped inside one of the socket's callbacks, the state is borrowed: what is
        // held stays until the socket goes, but nothing more is kept.
        self.handle.snapshot.reader_gone.set(true);
        if let Ok(mut inner) = self.handle.shared.try_borrow_mut() {
            inner.drop_reader();
        }
    }
}

impl WebSocket {
    /// Connects to `url` with the defaults: reconnection with [`Backoff::default`], no
    /// heartbeat. Relative and `http(s)` URLs resolve against the page.
    ///
    /// ```no_run
    /// use futures::{SinkExt, StreamExt};
    /// use resocket::{Message, WebSocket};
    ///
    /// # async fn demo() -> Result<(), resocket::Error> {
    /// let mut ws = WebSocket::connect("/live")?;
    /// ws.send(Message::Text("hello".into())).await?;
    /// while let Some(message) = ws.next().await {
    ///     println!("{:?}", message?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn connect(url: &str) -> Result<WebSocket, Error> {
        Self::builder(url).connect()
    }

    /// Starts configuring a socket to `url`.
    pub fn builder(url: &str) -> Builder {
        Builder {
            url: url.to_owned(),
            protocols: Vec::new(),
            provider: None,
            blobs: None,
            config: Config::default(),
            low_water_mark_set: false,
        }
    }

    /// Splits into a sending and a receiving half that share one connection.
    pub fn split(self) -> (Sender, Receiver) {
        (
            Sender {
                handle: self.handle.clone(),
            },
            Receiver {
                handle: self.handle,
            },
        )
    }
}

macro_rules! common_methods {
    ($t:ty) => {
        impl $t {
            /// Where the socket is in its life.
            pub fn state(&self) -> State {
                self.handle.with(|i| i.state())
            }

            /// A new subscription to everything that happens from now on (opens, closes with
            /// their frames, reconnection attempts and delays, heartbeat timeouts). Each call
            /// gives an independent subscriber; the stream ends when the socket closes for
            /// good. Unread events accumulate, so drop a subscription you stop reading.
            /// The first connection's `Connecting { attempt: 0 }` is emitted while
            /// connecting starts, before any subscription can exist; `state()` shows it.
            /// Called from inside one of the socket's own callbacks (`on_open`,
            /// `reconnect_if`, `target_fn`, a pong matcher), where the socket cannot act,
            /// the stream ends at once: subscribe before, or from a task.
            pub fn events(&self) -> impl Stream<Item = Event> + Unpin {
                self.handle.with(|i| i.subscribe())
            }

            /// The current connection's
            /// [`bufferedAmount`](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket/bufferedAmount):
            /// bytes handed to the browser and not yet transmitted (0 without a connection).
            /// A reading serves the queue too: if the buffer drained below the low-water
            /// mark, messages waiting for room are handed over now, and the figure
            /// returned counts them (a loop that reads this until it and
            /// [`queued_bytes`](Self::queued_bytes) are 0 is not held up by the buffer
            /// polls' timers).
            pub fn buffered_amount(&self) -> usize {
                self.handle.with(|i| i.buffered_amount())
            }

            /// Bytes accepted but not yet handed to the browser (waiting for a connection,
            /// for `bufferedAmount` to fall below the high-water mark, or for the release of
            /// a queue the open hook held); with [`buffered_amount`](Self::buffered_amount),
            /// everything sent and not yet transmitted.
            pub fn queued_bytes(&self) -> usize {
                self.handle.with(|i| i.queued_bytes())
            }

            /// While [`Reconnecting`](State::Reconnecting): how long until the next attempt
            /// starts (what a "reconnecting in 3 s" countdown shows). `None` otherwise, and
            /// while the browser is offline, when the attempt waits for it to come back
            /// online rather than for a time.
            pub fn next_attempt_in(&self) -> Option<Duration> {
                self.handle.with(|i| i.next_attempt_in())
            }

            /// The subprotocol the server chose on the last connection (empty if none).
            pub fn protocol(&self) -> String {
                self.handle.with(|i| i.protocol())
            }

            /// The resolved URL of the current (or last) attempt.
            pub fn url(&self) -> String {
                self.handle.with(|i| i.url())
            }

            /// Resolves once the connection is open; `Err` if the socket closed for good first.
            /// The future holds the socket like a handle: while it is kept, the socket stays
            /// alive (and keeps reconnecting) even if every other handle is dropped.
            pub fn opened(&self) -> Opened {
                Opened {
                    handle: self.handle.clone(),
                }
            }

            /// Closes for good with `code` (1000 or 3000–4999) and `reason` (at most 123
            /// UTF-8 bytes), cancelling any pending reconnection. Invalid arguments are an
            /// `Err` and change nothing.
            ///
            /// The close starts at once; await the returned [`Closing`] to learn how it
            /// ended and to get back the messages that were never transmitted. It completes
            /// within the close timeout even if the server stopped reading: the socket is
            /// then abandoned.
            pub fn close(&self, code: u16, reason: &str) -> Result<Closing, Error> {
                self.handle.with(|i| i.close(code, reason))?;
                Ok(Closing {
                    handle: self.handle.clone(),
                })
            }

            /// Drops the current connection and connects again now, keeping the queue: for
            /// a new token from [`target_fn`](Builder::target_fn), or a "retry now" button.
            ///
            /// - Open: the connection closes with `code` (1000 or 3000–4999) and `reason`
            ///   (at most 123 UTF-8 bytes) in a normal closing handshake; what the browser
            ///   holds still goes out, what it never transmitted is sent again on the new
            ///   connection, before what is sent meanwhile. Messages that arrive meanwhile
            ///   are delivered (beyond an [inbound limit](Builder::inbound_limit), dropped
            ///   and counted). Once it has closed (or the close timeout passed), a new
            ///   connection starts at once: [`Event::Close`], then
            ///   [`Event::Reconnecting`] with attempt 1 and no delay. This holds with
            ///   [`no_reconnect`](Builder::no_reconnect) too, and whatever
            ///   [`reconnect_if`](Builder::reconnect_if) says: the application asked.
            ///   Should that attempt fail, the policy decides as for any other (without
            ///   reconnection the socket ends with [`Error::ConnectFailed`]). The open hook
            ///   runs on the new connection as on any other.
            ///   Until the old connection has closed, [`state`](Self::state) is still
            ///   `Open` and [`opened`](Self::opened) resolves at once: wait for
            ///   [`Event::Reconnecting`] to know the new attempt has started (the state then
            ///   goes to `Connecting`, not through `Reconnecting`). A close already under
            ///   way for the inbound limit, or for an earlier call, is joined: this call's
            ///   code and reason are not used, and a new connection follows it whatever the
            ///   policy says. The Sink's close during the handshake lets a new connection
            ///   carry what is queued, then closes it; [`close`](Self::close) ends the
            ///   socket with the handshake (the server sees this call's code).
            /// - Connecting: the attempt is given up (no [`Event::Close`]; this call's code
            ///   and reason are not used) and made again at once, with the same attempt
            ///   number ([`target_fn`](Builder::target_fn) is asked again).
            /// - Waiting to reconnect: the attempt starts now, even while the browser is
            ///   offline, and counts towards [`max_retries`](crate::Backoff::max_retries)
            ///   as it would have.
            ///
            /// Closed or closing for good, it is [`Error::SocketClosed`]; invalid arguments
            /// are an `Err` and change nothing. From inside one of the socket's own
            /// callbacks, where it cannot act, it is an [`Error::InvalidState`].
            ///
            /// ```no_run
            /// # fn demo(ws: &resocket::WebSocket) -> Result<(), resocket::Error> {
            /// ws.reconnect(1000, "new token")?;
            /// # Ok(()) }
            /// ```
            pub fn reconnect(&self, code: u16, reason: &str) -> Result<(), Error> {
                self.handle.with(|i| i.reconnect(code, reason))
            }

            /// Lets the queue go to the open connection after the [open hook](Builder::on_open)
            /// held it back ([`Opening::hold_queue`](crate::Opening::hold_queue)), e.g. once
            /// the server accepted the login the hook sent first. Does nothing otherwise.
            /// From inside one of the socket's own callbacks, where it cannot act, it is an
            /// [`Error::InvalidState`].
            pub fn release_queue(&self) -> Result<(), Error> {
                self.handle.with(|i| {
                    i.release_queue();
                    Ok(())
                })
            }

            /// Replaces the heartbeat from now on (`None` turns it off), e.g. once the server
            /// has said how often it will send: the open connection counts as just heard
            /// from. Takes effect across reconnections, like the builder's
            /// [`heartbeat`](Builder::heartbeat). An invalid heartbeat is an
            /// [`Error::InvalidConfig`] and changes nothing.
            pub fn set_heartbeat(&self, heartbeat: Option<Heartbeat>) -> Result<(), Error> {
                self.handle.with(|i| i.set_heartbeat(heartbeat))
            }

            /// Once closed for good: the messages accepted but never transmitted, in order.
            /// They are handed over once: here or by awaiting [`close`](Self::close),
            /// whichever asks first. Empty before that.
            pub fn take_unsent(&self) -> Vec<Message> {
                self.handle.with(|i| i.take_unsent())
            }
        }
    };
}

common_methods!(WebSocket);
common_methods!(Sender);
common_methods!(Receiver);

fn poll_next(handle: &Handle, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
    handle.poll(cx, Inner::poll_next)
}

impl Stream for WebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_next(&self.handle, cx)
    }
}

impl Stream for Receiver {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_next(&self.handle, cx)
    }
}

macro_rules! sink_impl {
    ($t:ty) => {
        /// `poll_ready` waits while `bufferedAmount` is above the high-water mark (until it
        /// drains to the low-water mark) or while the queue is full during (re)connection;
        /// `poll_flush` waits until everything accepted has left the browser
        /// (`bufferedAmount` is 0; the browser says so only when asked, so it is read at the
        /// next task, then after 1, 2, 4… ms: a small `send(..).await` takes 0.02 to 0.2 ms
        /// in Chromium, by machine, about 1.5 ms in Firefox); `poll_close` lets the queue
        /// drain (within the close timeout; a connection lost meanwhile is not replaced,
        /// unless [`reconnect`](WebSocket::reconnect) is closing it), then closes the
        /// connection with 1000, for every handle (`Err` if messages were left unsent).
        /// Sending on a socket closed for good is [`Error::SocketClosed`].
        ///
        /// `start_send` without a preceding `poll_ready` still accepts the message (it is
        /// queued, never dropped): that is how to send without waiting, like the browser's
        /// own `send()`, when the caller bounds its own rate.
        impl Sink<Message> for $t {
            type Error = Error;

            fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                self.handle.poll(cx, Inner::poll_ready)
            }

            fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
                self.handle.with(|i| i.send(item))
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                self.handle.poll(cx, Inner::poll_flush)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
                self.handle.poll(cx, Inner::poll_sink_close)
            }
        }
    };
}

sink_impl!(WebSocket);
sink_impl!(Sender);

impl Sender {
    /// Open, and not closing that connection on its own (the inbound limit, `reconnect`):
    /// what is sent now goes to this connection ([`Machine::is_live`](crate::core::Machine::is_live)).
    /// A STOMP session is over once its connection is not.
    #[cfg(feature = "stomp")]
    pub(crate) fn is_live(&self) -> bool {
        self.handle.with(|i| i.is_live())
    }

    /// Ready once the socket is closed for good; until then the task is woken with those
    /// waiting on the Sink (on every event of the socket: a poll that finds nothing more
    /// to do), for a task that waits on something else but must not outlive the socket
    /// ([`SendQueue`](crate::SendQueue)'s idle forwarding task).
    pub(crate) fn poll_ended(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.handle.poll(cx, Inner::poll_ended)
    }
}

#[cfg(all(target_arch = "wasm32", feature = "js"))]
impl Sender {
    /// Closes for good once everything queued has been handed to the browser (within the
    /// close timeout): what the Sink's close does, with any code and reason. For the JS
    /// API's `close()`, which must send what `send()` accepted first, like a browser's.
    pub(crate) fn close_when_drained(&self, code: u16, reason: &str) -> Result<(), Error> {
        self.handle.with(|i| i.close_when_drained(code, reason))
    }
}

/// The future of [`WebSocket::close`]: resolves when the socket is closed for good.
#[must_use = "the close has started; await this to learn how it ended"]
pub struct Closing {
    handle: Rc<Handle>,
}

impl Future for Closing {
    type Output = CloseOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseOutcome> {
        self.handle.poll(cx, Inner::poll_closed)
    }
}

/// The future of [`WebSocket::opened`].
pub struct Opened {
    handle: Rc<Handle>,
}

impl Future for Opened {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll(cx, Inner::poll_opened)
    }
}
