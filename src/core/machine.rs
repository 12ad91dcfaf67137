//! The connection state machine: inputs in (`handle_*`, `send`, `close`), actions out
//! (`poll_action`), time passed in, no IO. The browser driver feeds it and carries out what
//! it asks; everything that decides anything lives here.

use super::backoff::Rng;
use super::opening::{OpenHook, Opening};
use super::outbox::Outbox;
use crate::close::{codes, validate_close};
use crate::{Backoff, CloseFrame, Error, Event, Heartbeat, Message, State};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// A decision of whether to reconnect after the server or the network closed the connection.
pub type ReconnectPolicy = Rc<dyn Fn(&CloseFrame) -> bool>;

/// The time for an input that needs it only in some cases: a [`Duration`] (the time itself)
/// or a function that reads the clock, called only when the time is needed. The driver
/// passes its clock to the inputs that come with every message (a message in, a message
/// sent, a flush), which need no time unless a heartbeat is on or something else is due
/// (a close, a buffer poll), so most messages save a clock read (a call into JavaScript).
pub trait Now {
    /// The current time.
    fn now(self) -> Duration;
}

impl Now for Duration {
    fn now(self) -> Duration {
        self
    }
}

impl<F: FnOnce() -> Duration> Now for F {
    fn now(self) -> Duration {
        self()
    }
}

/// The low-water mark when none is given (and the high-water mark is 1 MiB or more).
pub const DEFAULT_LOW_WATER_MARK: usize = 256 << 10;

/// Everything the machine is configured with; built and validated by the public builder.
#[derive(Clone)]
pub struct Config {
    /// `None`: never reconnect.
    pub reconnect: Option<Backoff>,
    /// `None`: no heartbeat.
    pub heartbeat: Option<Heartbeat>,
    /// `poll_ready` is pending above this many buffered bytes ...
    pub high_water_mark: usize,
    /// ... until the buffer drains to this many.
    pub low_water_mark: usize,
    /// How many messages may wait while the socket is not open.
    pub queue_capacity: usize,
    /// An attempt still connecting after this long is abandoned.
    pub connect_timeout: Option<Duration>,
    /// A requested close that has not completed after this long abandons the socket.
    pub close_timeout: Duration,
    /// Overrides [`default_reconnect_policy`].
    pub reconnect_if: Option<ReconnectPolicy>,
    /// Runs on every open, before anything queued is sent.
    pub on_open: Option<OpenHook>,
    /// At most this many bytes of unread incoming messages are kept; what happens beyond.
    pub inbound_limit: Option<(usize, InboundOverflow)>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("reconnect", &self.reconnect)
            .field("heartbeat", &self.heartbeat)
            .field("high_water_mark", &self.high_water_mark)
            .field("low_water_mark", &self.low_water_mark)
            .field("queue_capacity", &self.queue_capacity)
            .field("connect_timeout", &self.connect_timeout)
            .field("close_timeout", &self.close_timeout)
            .field(
                "reconnect_if",
                &self.reconnect_if.as_ref().map(|_| "custom"),
            )
            .field("on_open", &self.on_open.as_ref().map(|_| "custom"))
            .field("inbound_limit", &self.inbound_limit)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            reconnect: Some(Backoff::default()),
            heartbeat: None,
            high_water_mark: 1 << 20,
            low_water_mark: DEFAULT_LOW_WATER_MARK,
            queue_capacity: 1024,
            connect_timeout: Some(Duration::from_secs(10)),
            close_timeout: Duration::from_secs(5),
            reconnect_if: None,
            on_open: None,
            inbound_limit: None,
        }
    }
}

/// What to do when incoming messages that the application has not read yet reach the
/// [inbound limit](crate::Builder::inbound_limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOverflow {
    /// Close the connection with [`codes::INBOUND_LIMIT`](crate::codes::INBOUND_LIMIT),
    /// a normal closing handshake: what the browser still holds to send goes out first,
    /// and only what it never transmitted is re-queued. The stream still yields every
    /// message that arrived before; then the close goes through the reconnect policy like
    /// any other (the default policy does not retry it, so the stream ends with
    /// [`Error::Closed`]). Messages that arrive while the socket closes are not kept.
    /// Should the limit be reached while the socket is closing already (for good, or for
    /// a `reconnect`), messages are dropped and counted as with `DropNewest`.
    Close,
    /// Keep the connection and drop the messages that arrive while the limit is reached;
    /// where they were, the stream yields one [`Error::InboundDropped`] with their count,
    /// then goes on. Nothing is dropped without the reader being told.
    DropNewest,
}

/// What the driver does with an incoming message ([`Machine::admit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Keep it for the reader.
    Keep,
    /// Drop it and count it where it would have been ([`Error::InboundDropped`]).
    Drop,
    /// Let it go: the connection is closing for the inbound limit, and the stream ends
    /// with that close.
    Discard,
}

impl Config {
    /// Checks that the settings make sense together.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if let Some(b) = &self.reconnect {
            b.validate().or_else(bad)?;
        }
        if let Some(h) = &self.heartbeat {
            h.validate().or_else(bad)?;
        }
        if self.low_water_mark > self.high_water_mark {
            return bad(format!(
                "low_water_mark ({}) must not exceed high_water_mark ({})",
                self.low_water_mark, self.high_water_mark
            ));
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be at least 1".into());
        }
        if self.connect_timeout == Some(Duration::ZERO) {
            return bad("connect_timeout must be greater than zero".into());
        }
        if self.close_timeout.is_zero() {
            return bad("close_timeout must be greater than zero".into());
        }
        Ok(())
    }
}

/// The default reconnect policy: retry what a later attempt may fix.
///
/// Retried: 1001 going away, 1005 no status, 1006 abnormal (network loss, refused
/// connection, failed handshake), 1011 internal error, 1012 service restart, 1013 try again
/// later, 1014 bad gateway, 1015 TLS failure. Not retried: 1000 normal closure, the
/// protocol and policy errors 1002, 1003, 1007, 1008, 1009, 1010 (the same request would
/// fail the same way), and application codes 3000–4999 (their meaning is the
/// application's: opt in with `reconnect_if`). Connect and heartbeat timeouts are decided
/// by resocket itself and always retried while retries remain.
pub fn default_reconnect_policy(frame: &CloseFrame) -> bool {
    matches!(frame.code, 1001 | 1005 | 1006 | 1011..=1015)
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a new browser socket (the driver asks its URL provider for this attempt's URL).
    Connect {
        /// 0 for the first connection, then the reconnection attempt's number.
        attempt: u32,
    },
    /// Hand the message [`Machine::outgoing`] gives for this number to the current socket
    /// (nothing if it gives none: the socket ended meanwhile and the message went back to
    /// the queue). The machine keeps the message, to put it back in the queue should the
    /// socket end before the browser transmitted it, so handing it over copies nothing.
    /// Until this action is taken, no `bufferedAmount` reading counts the message as sent.
    Send(u64),
    /// Start the closing handshake on the current socket; its close event will follow.
    Close {
        /// Close code for the browser.
        code: u16,
        /// Close reason for the browser.
        reason: String,
    },
    /// Close the current socket best-effort and forget it at once: remove its listeners,
    /// expect no events from it.
    Abandon {
        /// Close code for the browser.
        code: u16,
        /// Close reason for the browser.
        reason: String,
    },
    /// Tell the application.
    Emit(Event),
}

/// Whether the Sink may take a message now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// `start_send` may be called.
    Yes,
    /// Wait: the buffer is above the high-water mark or the queue is full.
    Wait,
    /// The socket is closed for good.
    Closed,
}

#[derive(Debug, Clone)]
struct Probe {
    deadline: Deadline,
    /// Bytes handed to this socket up to and including the ping: once `transmitted`
    /// passes this, the ping has left the browser.
    ping_end: u64,
    /// `transmitted` when the deadline was last set, to see progress.
    transmitted_at_check: u64,
    /// Bytes handed over before the ping were still in the browser when it was sent: it
    /// waited behind them, and may have left only just before a deadline.
    behind: bool,
    /// A second ping sent because the first deadline fired too late to be trusted.
    reprobe: bool,
    /// When the ping was handed to the socket.
    sent: Duration,
}

/// A close of the open connection decided by the machine (`Machine::local_close`).
#[derive(Debug)]
struct LocalClose {
    /// The close timeout: past it, the socket is abandoned.
    deadline: Deadline,
    /// What to report should the deadline pass.
    frame: CloseFrame,
    /// Why: the inbound limit ([`Ended::Limit`]) or the application's `reconnect`
    /// ([`Ended::Asked`]).
    ended: Ended,
}

/// Who ended a connection the application did not close for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The server or the network: the reconnect policy decides.
    Remote,
    /// resocket's own timeouts (connect, heartbeat): always retried.
    Timeout,
    /// resocket's inbound limit: the policy decides, and the reader is told.
    Limit,
    /// The application's `reconnect`: a new connection at once, whatever the policy.
    Asked,
}

#[derive(Debug)]
enum Phase {
    Connecting {
        attempt: u32,
        deadline: Option<Deadline>,
    },
    Open {
        since: Duration,
        last_inbound: Duration,
        probe: Option<Probe>,
    },
    /// Waiting to reconnect; `until` is `None` while the browser is offline.
    Waiting {
        attempt: u32,
        delay: Duration,
        until: Option<Duration>,
    },
    Closing {
        deadline: Deadline,
    },
    Closed,
}

/// A deadline that fires more than this late (a throttled or frozen page) is pushed back
/// once by this much instead of acting, so that the events queued meanwhile (an `open`, a
/// `close`, a pong) are handled first.
const LATE_GRACE: Duration = Duration::from_secs(1);

/// When a timeout ends something (a connect, a close, a heartbeat), put off once should it
/// fire more than [`LATE_GRACE`] late.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Duration,
    /// It fired late once and was pushed back.
    deferred: bool,
}

impl Deadline {
    fn new(at: Duration) -> Self {
        Deadline {
            at,
            deferred: false,
        }
    }

    /// Whether it has come and is acted on now.
    fn due(&mut self, now: Duration) -> bool {
        self.at <= now && self.act_now(now)
    }

    /// It has come (`at <= now`): whether to act on it now, or (late for the first time)
    /// push it back by [`LATE_GRACE`].
    fn act_now(&mut self, now: Duration) -> bool {
        if !self.deferred && now.saturating_sub(self.at) > LATE_GRACE {
            self.deferred = true;
            self.at = now.saturating_add(LATE_GRACE);
            return false;
        }
        true
    }
}

/// What the machine knows of the current socket's `bufferedAmount`.
#[derive(Debug, Default)]
struct Buffer {
    /// The last value read, plus what was handed over since.
    estimate: usize,
    /// Above the high-water mark, and not yet back to the low-water mark.
    blocked: bool,
    /// When to read it again while someone waits on it.
    next_check: Option<Duration>,
    /// The previous check's reading, for the drain rate.
    last_check: Option<(Duration, usize)>,
    sent_since_check: usize,
    interval: Duration,
    /// Everything handed to this socket since it opened, in bytes.
    handed_total: u64,
    /// Messages handed over since the last reading.
    handed_since_reading: usize,
}

impl Buffer {
    /// Bytes of this socket's data that have left the browser.
    fn transmitted(&self) -> u64 {
        self.handed_total.saturating_sub(self.estimate as u64)
    }
}

/// Messages handed over without a `bufferedAmount` reading before one is taken, which also
/// bounds the in-flight record kept for re-queueing.
const MAX_UNCONFIRMED: usize = 64;

/// Bounds on the wait between `bufferedAmount` readings after the first. The first comes at
/// once (at the next task): browsers report a small send as transmitted within a task or a
/// few milliseconds (Chromium at the next task, Firefox after about 1 ms), so a flush that
/// waited for a regular poll would add milliseconds to every `send().await`.
const MIN_BUFFER_POLL: Duration = Duration::from_millis(1);
const MAX_BUFFER_POLL: Duration = Duration::from_millis(250);

/// The sans-IO connection state machine. See the module docs.
pub struct Machine {
    config: Config,
    rng: Rng,
    phase: Phase,
    /// Consecutive failed attempts: drives the backoff; reset after a stable connection.
    failures: u32,
    offline: bool,
    outbox: Outbox,
    buffer: Buffer,
    /// Someone waits for the buffer to empty (`poll_flush`).
    flushing: bool,
    /// Messages were handed back unsent at the end: a flush can no longer succeed.
    stranded: bool,
    /// The Sink's close waits for the queue to drain until this deadline.
    close_after_drain: Option<(Duration, u16, String)>,
    /// The open hook held the queue back from this connection until `release_queue`.
    held: bool,
    /// A close of the open connection decided here (the driver's inbound limit, or the
    /// application's `reconnect`): its deadline (the close timeout), the frame to report
    /// should it pass, and what follows it (the reconnect policy for the limit, a new
    /// connection at once for `reconnect`).
    local_close: Option<LocalClose>,
    actions: VecDeque<Action>,
    /// Yielded once by the stream before it ends, when the end was not asked for.
    terminal: Option<Error>,
    protocol: String,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("phase", &self.phase)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine that starts its first attempt at once (`Action::Connect` is queued).
    pub fn new(config: Config, seed: u64, now: Duration) -> Self {
        let mut m = Machine {
            config,
            rng: Rng::new(seed),
            phase: Phase::Closed,
            failures: 0,
            offline: false,
            outbox: Outbox::default(),
            buffer: Buffer::default(),
            flushing: false,
            stranded: false,
            close_after_drain: None,
            held: false,
            local_close: None,
            actions: VecDeque::new(),
            terminal: None,
            protocol: String::new(),
        };
        m.start_attempt(now, 0);
        m
    }

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.actions.pop_front()?;
        if let Action::Send(seq) = action {
            self.outbox.taken(seq);
        }
        Some(action)
    }

    /// The message an [`Action::Send`] with this number hands over, while the machine keeps
    /// it: until a reading taken after the action shows it transmitted, or its socket ends
    /// (then it is back in the queue, or dropped if it belonged to that connection only).
    pub fn outgoing(&self, seq: u64) -> Option<&Message> {
        self.outbox.handed(seq)
    }

    /// The public view of the state.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Connecting { .. } => State::Connecting,
            Phase::Open { .. } => State::Open,
            Phase::Waiting { attempt, delay, .. } => State::Reconnecting { attempt, delay },
            Phase::Closing { .. } => State::Closing,
            Phase::Closed => State::Closed,
        }
    }

    /// When the next reconnection attempt starts: only while waiting out a delay with the
    /// browser online (offline, the attempt waits for `online` instead, with no time set).
    pub fn next_attempt_at(&self) -> Option<Duration> {
        match self.phase {
            Phase::Waiting { until, .. } => until,
            _ => None,
        }
    }

    /// The subprotocol the server chose on the last open connection.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// How many messages wait in the queue (not yet handed to the browser).
    pub fn queued(&self) -> usize {
        self.outbox.queued()
    }

    /// Whether a fresh `bufferedAmount` reading is needed after handing messages over: when
    /// the estimate nears the marks or many messages await confirmation. Skipping the rest
    /// saves a JS call per small message.
    pub fn wants_buffer_reading(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
            && (self.buffer.blocked
                || self.flushing
                || self.buffer.estimate > self.config.low_water_mark
                || self.buffer.handed_since_reading > MAX_UNCONFIRMED)
    }

    /// Whether queued messages wait for the browser's buffer to drain below the low-water
    /// mark. A driver that gets control for another reason (an incoming message) then does
    /// well to read `bufferedAmount` and pass it to [`handle_buffered`](Self::handle_buffered):
    /// the messages may go at once instead of at the next poll, whose interval is only an
    /// estimate from the drain rate seen so far.
    pub fn waits_for_room(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
            && self.buffer.blocked
            && self.local_close.is_none()
            && self.outbox.queued() > 0
    }

    /// The browser's `bufferedAmount` as the machine knows it: the last reading plus what
    /// was handed over since.
    pub fn buffered_estimate(&self) -> usize {
        self.buffer.estimate
    }

    /// Bytes accepted and not yet handed to the browser.
    pub fn queued_bytes(&self) -> usize {
        self.outbox.queued_bytes()
    }

    /// Whether the browser's `online` and `offline` matter now, with reconnection only:
    /// while waiting to reconnect (they pause and resume the wait), and while someone
    /// watches the events (`watched`), where they show. An open or connecting socket that
    /// nobody watches needs neither: the driver then reports the browser's state when it
    /// starts listening, which it does once the connection has ended.
    pub fn wants_network_events(&self, watched: bool) -> bool {
        self.config.reconnect.is_some()
            && match self.phase {
                Phase::Waiting { .. } => true,
                Phase::Closed => false,
                _ => watched,
            }
    }

    /// Open, and not closing that connection for a reason of its own (the inbound limit,
    /// [`reconnect`](Self::reconnect)): what is sent now is handed to this connection.
    /// While such a close is under way, [`state`](Self::state) is still
    /// [`State::Open`], but what is sent waits for the next connection.
    pub fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Open { .. }) && self.local_close.is_none()
    }

    /// Closed for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let phase = match &self.phase {
            Phase::Connecting { deadline, .. } => deadline.map(|d| d.at),
            Phase::Open {
                last_inbound,
                probe,
                ..
            } => match (&self.config.heartbeat, probe) {
                // Closing on the machine's own decision: the heartbeat is not run meanwhile (see
                // `handle_timeout`), so its deadline would stay due and spin the timer.
                _ if self.local_close.is_some() => None,
                (None, _) => None,
                (Some(_), Some(p)) => Some(p.deadline.at),
                (Some(h), None) => Some(last_inbound.saturating_add(h.interval)),
            },
            Phase::Waiting { until, .. } => *until,
            Phase::Closing { deadline } => Some(deadline.at),
            Phase::Closed => None,
        };
        [
            phase,
            self.buffer.next_check,
            self.close_after_drain.as_ref().map(|c| c.0),
            self.local_close.as_ref().map(|c| c.deadline.at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time has come: for deadlines, retries, heartbeats. Call [`handle_buffered`](Self::handle_buffered)
    /// first with a fresh reading when a socket exists.
    pub fn handle_timeout(&mut self, now: Duration) {
        // A Sink close due now: it ends a reconnection delay, which must not open a socket
        // only to close it (it is carried out below).
        let drain_due = self.close_after_drain.as_ref().is_some_and(|c| c.0 <= now);
        // A connect or close deadline that has come and is acted on now.
        let due = match &mut self.phase {
            Phase::Connecting {
                deadline: Some(d), ..
            }
            | Phase::Closing { deadline: d } => d.due(now),
            _ => false,
        };
        match &mut self.phase {
            Phase::Connecting { .. } if due => {
                self.actions.push_back(Action::Abandon {
                    code: codes::NORMAL,
                    reason: String::new(),
                });
                self.emit(Event::ConnectTimeout);
                self.socket_ended(
                    now,
                    None,
                    CloseFrame::abnormal("connect timeout"),
                    Ended::Timeout,
                );
            }
            Phase::Waiting {
                attempt,
                until: Some(t),
                ..
            } if *t <= now && !drain_due => {
                let attempt = *attempt;
                self.start_attempt(now, attempt);
            }
            Phase::Closing { .. } if due => {
                self.actions.push_back(Action::Abandon {
                    code: codes::NORMAL,
                    reason: String::new(),
                });
                let frame = CloseFrame::abnormal("close timeout");
                self.outbox.requeue_untransmitted(self.browser_holds());
                self.emit(Event::Close(frame));
                self.phase = Phase::Closed;
            }
            Phase::Open { since, .. } => {
                let since = *since;
                match &mut self.local_close {
                    // The server never completed the closing handshake: give the socket up.
                    Some(c) => {
                        if c.deadline.due(now) {
                            let (frame, ended) = (c.frame.clone(), c.ended);
                            self.actions.push_back(Action::Abandon {
                                code: frame.code,
                                reason: frame.reason.clone(),
                            });
                            let buffered = self.browser_holds();
                            self.socket_ended(now, Some((since, buffered)), frame, ended);
                        }
                    }
                    None => {
                        if let Some(tick) = self.config.heartbeat.as_ref().map(|h| h.tick) {
                            tick(self, now);
                        }
                    }
                }
            }
            _ => {}
        }
        if self.close_after_drain.as_ref().is_some_and(|c| c.0 <= now) {
            if let Some((_, code, reason)) = self.close_after_drain.take() {
                let _ = self.close(now, code, &reason);
            }
        }
        if let Some(t) = self.buffer.next_check {
            if t <= now {
                self.buffer.next_check = None;
                self.schedule_buffer_check(now);
            }
        }
    }

    /// Reached only through [`Heartbeat`]'s `tick`: see there.
    pub(crate) fn heartbeat_tick(&mut self, now: Duration) {
        // Only what it decides by (copies): this runs on every timer event of an open
        // connection, and cloning the whole heartbeat would copy its ping each time.
        let Some((interval, timeout, slack)) =
            (self.config.heartbeat.as_ref()).map(|hb| (hb.interval, hb.timeout, hb.late_slack()))
        else {
            return;
        };
        let Phase::Open {
            last_inbound,
            probe,
            since,
        } = &self.phase
        else {
            return;
        };
        let since = *since;
        match probe {
            None if last_inbound.saturating_add(interval) <= now => self.probe(now, false),
            Some(p) if p.deadline.at <= now => {
                let lateness = now.saturating_sub(p.deadline.at);
                // Timer throttling delays a timer by a minute at most; more means the page
                // was frozen, and then even a re-probe's silence proves nothing.
                let frozen = lateness > slack.saturating_add(Duration::from_secs(61));
                let transmitted = self.buffer.transmitted();
                if lateness > slack && (!p.reprobe || frozen) {
                    // Throttled or suspended: this silence proves nothing. Ask again.
                    self.probe(now, true);
                } else if transmitted > p.transmitted_at_check
                    && (transmitted < p.ping_end || p.behind)
                {
                    // Bytes left the browser since the last check. If the ping is still
                    // among them, the pong cannot have come yet. If it was queued behind
                    // data, it may have left only just now, or sit in the system's buffers
                    // behind what went before it and is still going: wait while there is
                    // progress. (A ping sent with nothing ahead of it left at once: its
                    // first deadline is the end.) Once it has left and the browser holds
                    // nothing more, those buffers took all there was: they are not full,
                    // and this timeout is the last (else an app that keeps sending a
                    // little would keep a dead connection alive without end).
                    let behind = p.behind && (transmitted < p.ping_end || self.buffer.estimate > 0);
                    let deadline = Deadline::new(now.saturating_add(timeout));
                    if let Phase::Open { probe: Some(p), .. } = &mut self.phase {
                        p.deadline = deadline;
                        p.transmitted_at_check = transmitted;
                        p.behind = behind;
                    }
                } else {
                    // Late (a frozen page runs its overdue timers before the network events
                    // queued meanwhile, the pong among them): let those come first, once.
                    let act = match &mut self.phase {
                        Phase::Open { probe: Some(p), .. } => p.deadline.act_now(now),
                        _ => true,
                    };
                    if act {
                        self.actions.push_back(Action::Abandon {
                            code: codes::HEARTBEAT_TIMEOUT,
                            reason: "heartbeat timeout".into(),
                        });
                        self.emit(Event::HeartbeatTimeout);
                        let frame = CloseFrame {
                            code: codes::HEARTBEAT_TIMEOUT,
                            reason: "heartbeat timeout".into(),
                            was_clean: false,
                        };
                        let buffered = self.browser_holds();
                        self.socket_ended(now, Some((since, buffered)), frame, Ended::Timeout);
                    }
                }
            }
            _ => {}
        }
    }

    /// Sends the heartbeat's ping and sets its deadline.
    fn probe(&mut self, now: Duration, reprobe: bool) {
        let Some((ping, timeout)) =
            (self.config.heartbeat.as_ref()).map(|hb| (hb.ping.clone(), hb.timeout))
        else {
            return;
        };
        // (The buffer was read just before: every timer event reads it first.)
        let behind = self.buffer.estimate > 0;
        self.send_control(ping);
        let probe = Probe {
            deadline: Deadline::new(now.saturating_add(timeout)),
            ping_end: self.buffer.handed_total,
            transmitted_at_check: self.buffer.transmitted(),
            behind,
            reprobe,
            sent: now,
        };
        if let Phase::Open { probe: p, .. } = &mut self.phase {
            *p = Some(probe);
        }
    }

    /// Hands the socket a message of this connection only: its bytes count, but it is never
    /// re-queued.
    fn send_control(&mut self, message: Message) {
        let (seq, len) = self.outbox.record_control(message);
        self.note_handed_over(len);
        self.actions.push_back(Action::Send(seq));
    }

    /// The browser socket opened with this subprotocol. The open hook runs first; what it
    /// sends first goes out before anything queued, whatever the high-water mark.
    pub fn handle_open(&mut self, now: Duration, protocol: String) {
        let Phase::Connecting { attempt, .. } = self.phase else {
            return;
        };
        self.phase = Phase::Open {
            since: now,
            last_inbound: now,
            probe: None,
        };
        self.buffer = Buffer::default();
        self.protocol = protocol.clone();
        let (first, discarded, held) = match self.config.on_open.clone() {
            Some(hook) => {
                let mut opening = Opening::new(attempt, &self.protocol, &mut self.outbox);
                // The hook cannot reach the machine, so it is never borrowed here already.
                if let Ok(mut hook) = hook.try_borrow_mut() {
                    (*hook)(&mut opening);
                }
                opening.finish()
            }
            None => (Vec::new(), 0, false),
        };
        self.emit(Event::Open { protocol });
        if discarded > 0 {
            self.emit(Event::Discarded { count: discarded });
        }
        for message in first {
            self.send_control(message);
        }
        self.held = held;
        self.drain(now);
        self.schedule_buffer_check(now);
    }

    /// A message arrived (any message: it proves the connection alive).
    pub fn handle_inbound(&mut self, now: impl Now) {
        let mut answered = None;
        // When it came matters to the heartbeat only: without one, the clock is not read
        // (`set_heartbeat` counts the connection as just heard from when one is set).
        if let (
            Phase::Open {
                last_inbound,
                probe,
                ..
            },
            Some(_),
        ) = (&mut self.phase, &self.config.heartbeat)
        {
            let now = now.now();
            *last_inbound = now;
            answered = probe.take().map(|p| now.saturating_sub(p.sent));
        }
        if let Some(rtt) = answered {
            self.emit(Event::HeartbeatAck { rtt });
        }
    }

    /// Replaces the heartbeat (`None` turns it off) from now on: an open connection counts
    /// as just heard from, and a probe in flight is forgotten. For protocols that learn the
    /// right interval from the server (STOMP's `CONNECTED`). Checked like the builder's.
    pub fn set_heartbeat(
        &mut self,
        now: Duration,
        heartbeat: Option<Heartbeat>,
    ) -> Result<(), Error> {
        if let Some(h) = &heartbeat {
            h.validate().map_err(Error::InvalidConfig)?;
        }
        self.config.heartbeat = heartbeat;
        if let Phase::Open {
            last_inbound,
            probe,
            ..
        } = &mut self.phase
        {
            *last_inbound = now;
            *probe = None;
        }
        Ok(())
    }

    /// Whether an inbound message is the heartbeat's pong (to be swallowed).
    pub fn is_pong(&self, message: &Message) -> bool {
        self.config
            .heartbeat
            .as_ref()
            .is_some_and(|h| (h.is_pong)(message))
    }

    /// The browser socket closed (its `close` event); `buffered` is its `bufferedAmount`
    /// read in the close handler: the bytes it never transmitted.
    pub fn handle_close(&mut self, now: Duration, frame: CloseFrame, buffered: usize) {
        match self.phase {
            Phase::Connecting { .. } => self.socket_ended(now, None, frame, Ended::Remote),
            Phase::Open { since, .. } => {
                // Closed by resocket itself (the inbound limit, or `reconnect`): its own code
                // is what ended the connection, for the policy and the error alike, whatever
                // code the server answered with (an empty close frame is 1005, which is
                // retried).
                let (frame, ended) = match self.local_close.take() {
                    Some(own) => (
                        CloseFrame {
                            was_clean: frame.was_clean,
                            ..own.frame
                        },
                        own.ended,
                    ),
                    None => (frame, Ended::Remote),
                };
                self.socket_ended(now, Some((since, buffered)), frame, ended)
            }
            Phase::Closing { .. } => {
                self.outbox.requeue_untransmitted(buffered);
                self.emit(Event::Close(frame));
                self.phase = Phase::Closed;
            }
            Phase::Waiting { .. } | Phase::Closed => {}
        }
    }

    /// The driver could not even create a socket for an attempt (bad URL from the provider,
    /// SecurityError): no retry can fix that, so the socket ends with this error.
    pub fn handle_connect_error(&mut self, error: Error) {
        if matches!(self.phase, Phase::Connecting { .. }) {
            self.end(Some(error));
        }
    }

    /// A message of `bytes` arrived while the reader holds `held` bytes of others (`waiting`:
    /// at least one): keep it, or, beyond the [inbound limit](Config::inbound_limit), drop
    /// it or close the connection. A lone message is always kept, so a reader that keeps up
    /// gets messages larger than the limit; with [`InboundOverflow::Close`] and no open
    /// connection to close (it is closing already), messages are dropped and counted.
    pub fn admit(&mut self, now: impl Now, bytes: usize, held: usize, waiting: bool) -> Admission {
        if self
            .local_close
            .as_ref()
            .is_some_and(|c| c.ended == Ended::Limit)
        {
            return Admission::Discard;
        }
        match self.config.inbound_limit {
            Some((limit, on_full)) if waiting && held.saturating_add(bytes) > limit => {
                // (Closing for `reconnect` already: nothing more to close, so dropped.)
                if on_full == InboundOverflow::Close
                    && self.local_close.is_none()
                    && self.close_connection(
                        now.now(),
                        codes::INBOUND_LIMIT,
                        "inbound limit reached",
                    )
                {
                    Admission::Discard
                } else {
                    Admission::Drop
                }
            }
            _ => Admission::Keep,
        }
    }

    /// The driver closes the open connection for a reason of its own (the inbound limit):
    /// a normal closing handshake with `code` (1000 or 3000-4999, as the browser takes), so
    /// what the browser holds is still transmitted and only what it never transmitted is
    /// re-queued, from its `bufferedAmount` at the close event. Nothing more is handed to
    /// the socket meanwhile. The end goes through the reconnect policy; if the handshake
    /// does not complete within the close timeout, the socket is abandoned and reported
    /// closed with `code`, not clean. `true` if the connection is (now) closing this way;
    /// `false` when there is no open connection to close.
    pub fn close_connection(&mut self, now: Duration, code: u16, reason: &str) -> bool {
        if !matches!(self.phase, Phase::Open { .. }) {
            return false;
        }
        self.close_locally(now, code, reason, Ended::Limit);
        true
    }

    /// Starts a closing handshake of the open connection decided here (a no-op while one
    /// is under way); `ended` says what follows it.
    fn close_locally(&mut self, now: Duration, code: u16, reason: &str, ended: Ended) {
        if self.local_close.is_none() {
            self.actions.push_back(Action::Close {
                code,
                reason: reason.into(),
            });
            let frame = CloseFrame {
                code,
                reason: reason.into(),
                was_clean: false,
            };
            self.local_close = Some(LocalClose {
                deadline: Deadline::new(now.saturating_add(self.config.close_timeout)),
                frame,
                ended,
            });
        }
    }

    /// The application asks for a new connection now (a token changed, a "retry now"
    /// button). Open: the connection closes with `code` and `reason` in a normal closing
    /// handshake (what the browser holds still goes out, what it never transmitted is
    /// re-queued, nothing more is handed to it meanwhile, messages that arrive meanwhile
    /// are kept), and once it has closed (or the close timeout passed) a new one starts at
    /// once, the first attempt of a new round of reconnection, whatever the reconnect
    /// policy or `no_reconnect`. Connecting: the attempt is given up and made again at
    /// once. Waiting to reconnect: the attempt starts now (it counts as it would have).
    /// Closed or closing for good: [`Error::SocketClosed`]. Invalid arguments are an
    /// `Err` and change nothing.
    pub fn reconnect(&mut self, now: Duration, code: u16, reason: &str) -> Result<(), Error> {
        validate_close(code, reason)?;
        if self.close_after_drain.is_some() {
            return Err(Error::SocketClosed);
        }
        match self.phase {
            Phase::Open { .. } => match &mut self.local_close {
                // Closing for the inbound limit already: a new connection follows it.
                Some(c) => c.ended = Ended::Asked,
                None => self.close_locally(now, code, reason, Ended::Asked),
            },
            Phase::Connecting { attempt, .. } => {
                self.actions.push_back(Action::Abandon {
                    code: codes::NORMAL,
                    reason: String::new(),
                });
                self.start_attempt(now, attempt);
            }
            Phase::Waiting { attempt, .. } => self.start_attempt(now, attempt),
            Phase::Closing { .. } | Phase::Closed => return Err(Error::SocketClosed),
        }
        Ok(())
    }

    /// A socket ended without the application asking. `opened` is when it had opened and
    /// how many bytes it left untransmitted; `ended` says who ended it.
    fn socket_ended(
        &mut self,
        now: Duration,
        opened: Option<(Duration, usize)>,
        frame: CloseFrame,
        ended: Ended,
    ) {
        self.local_close = None;
        if let Some((_, buffered)) = opened {
            let count = self.outbox.requeue_untransmitted(buffered);
            if count > 0 {
                self.emit(Event::Requeued { count });
            }
        }
        self.buffer = Buffer::default();
        self.held = false;
        self.emit(Event::Close(frame.clone()));

        // The application asked to close once the queue had drained, and the connection it
        // was draining into is lost: that is the end it asked for, not one to repair with a
        // new connection; what never left is handed back as unsent. Not so for resocket's
        // own inbound-limit close: the reader must learn of what the limit discarded, so
        // that end goes through the policy as always. Nor for `reconnect`'s: the queue was
        // held for the next connection, which opens, drains it and then closes (within the
        // Sink close's own deadline).
        if opened.is_some()
            && !matches!(ended, Ended::Limit | Ended::Asked)
            && self.close_after_drain.take().is_some()
        {
            return self.end(None);
        }
        if ended == Ended::Asked {
            // The application asked for this: a new round of reconnection, its first
            // attempt at once.
            self.failures = 1;
            self.emit(Event::Reconnecting {
                attempt: 1,
                delay: Duration::ZERO,
            });
            return self.start_attempt(now, 1);
        }
        let retry = ended == Ended::Timeout
            || match &self.config.reconnect_if {
                Some(policy) => policy(&frame),
                None => default_reconnect_policy(&frame),
            };
        let Some(backoff) = self.config.reconnect.clone().filter(|_| retry) else {
            let error = if opened.is_some() {
                Error::Closed(frame)
            } else {
                Error::ConnectFailed(frame)
            };
            return self.end(Some(error));
        };
        if let Some((since, _)) = opened {
            if now.saturating_sub(since) >= backoff.stable_after {
                self.failures = 0;
            }
        }
        self.failures = self.failures.saturating_add(1);
        if backoff.max_retries.is_some_and(|max| self.failures > max) {
            let attempts = self.failures - 1;
            return self.end(Some(Error::ReconnectExhausted {
                attempts,
                last: frame,
            }));
        }
        let attempt = self.failures;
        let delay = backoff.delay(attempt, self.rng.unit());
        let until = (!self.offline).then_some(now.saturating_add(delay));
        self.phase = Phase::Waiting {
            attempt,
            delay,
            until,
        };
        self.emit(Event::Reconnecting { attempt, delay });
    }

    fn start_attempt(&mut self, now: Duration, attempt: u32) {
        let deadline = (self.config.connect_timeout).map(|t| Deadline::new(now.saturating_add(t)));
        self.phase = Phase::Connecting { attempt, deadline };
        self.actions.push_back(Action::Connect { attempt });
        self.emit(Event::Connecting { attempt });
    }

    fn end(&mut self, error: Option<Error>) {
        self.close_after_drain = None;
        self.local_close = None;
        self.phase = Phase::Closed;
        self.buffer = Buffer::default();
        self.terminal = error;
    }

    /// The browser went offline: a pending reconnect waits for `online` instead of burning
    /// attempts. An open connection is left to the heartbeat and the browser, since
    /// `offline` does not mean every connection is dead (e.g. to localhost).
    pub fn handle_offline(&mut self) {
        if self.offline {
            return;
        }
        self.offline = true;
        if let Phase::Waiting { until, .. } = &mut self.phase {
            *until = None;
        }
        self.emit(Event::Offline);
    }

    /// The browser is back online: a pending reconnect starts at once.
    pub fn handle_online(&mut self, now: Duration) {
        if !self.offline {
            return;
        }
        self.offline = false;
        self.emit(Event::Online);
        if let Phase::Waiting { attempt, .. } = self.phase {
            self.start_attempt(now, attempt);
        }
    }

    /// What the browser holds by the estimate: the estimate counts what was handed over
    /// from the moment the `Send` action was made, the browser from when the driver took it.
    fn browser_holds(&self) -> usize {
        self.buffer
            .estimate
            .saturating_sub(self.outbox.untaken_bytes())
    }

    /// The current socket's `bufferedAmount`, read now. (It cannot count messages whose
    /// `Send` actions are still waiting to be taken: they stay recorded and counted.)
    pub fn handle_buffered(&mut self, now: Duration, buffered: usize) {
        let level = buffered.saturating_add(self.outbox.untaken_bytes());
        match self.phase {
            Phase::Open { .. } => {}
            // Still counts: a close that times out hands back what the reading says is left.
            Phase::Closing { .. } => {
                self.outbox.forget_transmitted(buffered);
                self.buffer.estimate = level;
                return;
            }
            _ => return,
        }
        self.outbox.forget_transmitted(buffered);
        self.buffer.estimate = level;
        self.buffer.handed_since_reading = 0;
        if self.buffer.blocked && level <= self.config.low_water_mark {
            self.buffer.blocked = false;
        } else if level > self.config.high_water_mark {
            self.buffer.blocked = true;
        }
        if self.buffer.next_check.is_some_and(|t| t <= now) {
            self.buffer.next_check = None;
        }
        self.drain(now);
        if self.flushing && self.buffer.estimate == 0 && self.outbox.queued() == 0 {
            self.flushing = false;
        }
        let waiting = self.buffer.blocked || self.flushing;
        if !waiting || self.buffer.next_check.is_none() {
            self.schedule_buffer_check(now);
        }
    }

    /// Reads of `bufferedAmount` are only needed while someone waits on it; the interval
    /// follows the observed drain rate, so a fast link is polled often and a stalled one
    /// rarely.
    fn schedule_buffer_check(&mut self, now: Duration) {
        let waiting = self.buffer.blocked || self.flushing;
        if !waiting || !matches!(self.phase, Phase::Open { .. }) {
            self.buffer.next_check = None;
            self.buffer.last_check = None;
            // (Counted from the next check on: left growing, a long stream of sends that
            // nobody waits for would overflow it.)
            self.buffer.sent_since_check = 0;
            return;
        }
        let level = self.buffer.estimate;
        let target = if self.buffer.blocked {
            self.config.low_water_mark
        } else {
            0
        };
        let interval = match self.buffer.last_check {
            None => Duration::ZERO,
            Some((at, before)) => {
                let drained = before
                    .saturating_add(self.buffer.sent_since_check)
                    .saturating_sub(level);
                let elapsed = now.saturating_sub(at);
                if drained > 0 && !elapsed.is_zero() {
                    let rate = drained as f64 / elapsed.as_secs_f64();
                    super::backoff::secs_f64(level.saturating_sub(target) as f64 / rate)
                } else {
                    self.buffer.interval.saturating_mul(2)
                }
                .clamp(MIN_BUFFER_POLL, MAX_BUFFER_POLL)
            }
        };
        self.buffer.interval = interval;
        self.buffer.last_check = Some((now, level));
        self.buffer.sent_since_check = 0;
        self.buffer.next_check = Some(now.saturating_add(interval));
    }

    fn note_handed_over(&mut self, len: usize) {
        self.buffer.handed_total += len as u64;
        self.buffer.handed_since_reading += 1;
        self.buffer.estimate = self.buffer.estimate.saturating_add(len);
        self.buffer.sent_since_check = self.buffer.sent_since_check.saturating_add(len);
        if self.buffer.estimate > self.config.high_water_mark {
            self.buffer.blocked = true;
        }
    }

    /// Hands queued messages to the socket while it is open and below the high-water mark,
    /// then makes the close that waited for the queue to drain.
    fn drain(&mut self, now: Duration) {
        if self.hand_over() {
            self.close_drained(now);
        }
    }

    /// [`drain`](Self::drain)'s part that needs no time: `true` when the queue has drained
    /// and a close waits for that.
    fn hand_over(&mut self) -> bool {
        if !matches!(self.phase, Phase::Open { .. }) || self.local_close.is_some() {
            return false;
        }
        while !self.buffer.blocked && !self.held {
            let Some((seq, len)) = self.outbox.pop_to_send() else {
                break;
            };
            self.note_handed_over(len);
            self.actions.push_back(Action::Send(seq));
        }
        self.outbox.queued() == 0 && self.close_after_drain.is_some()
    }

    fn close_drained(&mut self, now: Duration) {
        if let Some((_, code, reason)) = self.close_after_drain.take() {
            // Validated when it was asked for.
            let _ = self.close(now, code, &reason);
        }
    }

    /// Whether the Sink may accept a message now.
    pub fn poll_ready(&self) -> Ready {
        match self.phase {
            Phase::Closing { .. } | Phase::Closed => Ready::Closed,
            Phase::Open { .. } if self.buffer.blocked => Ready::Wait,
            // Closing for the inbound limit or `reconnect`: what comes now waits for the next
            // connection.
            // Held by the open hook: it waits for the release.
            Phase::Open { .. } if self.local_close.is_some() || self.held => {
                if self.outbox.queued() >= self.config.queue_capacity {
                    Ready::Wait
                } else {
                    Ready::Yes
                }
            }
            Phase::Open { .. } => Ready::Yes,
            _ if self.outbox.queued() >= self.config.queue_capacity => Ready::Wait,
            _ => Ready::Yes,
        }
    }

    /// Accepts a message: sent at once when possible, else queued in order.
    pub fn send(&mut self, now: impl Now, message: Message) -> Result<(), Error> {
        if matches!(self.phase, Phase::Closing { .. } | Phase::Closed) {
            return Err(Error::SocketClosed);
        }
        self.outbox.push(message);
        // The time only for what may follow: a close asked for once the queue drained, or
        // the first buffer check of a blocked socket. Neither when a message just goes out.
        let drained = self.hand_over();
        if drained || self.buffer.blocked && self.buffer.next_check.is_none() {
            let now = now.now();
            if drained {
                self.close_drained(now);
            }
            if self.buffer.blocked && self.buffer.next_check.is_none() {
                self.schedule_buffer_check(now);
            }
        }
        Ok(())
    }

    /// Lets the queue go to the open connection after the open hook held it
    /// ([`Opening::hold_queue`](super::Opening::hold_queue)). Nothing to do otherwise.
    pub fn release_queue(&mut self, now: Duration) {
        if std::mem::take(&mut self.held) {
            self.drain(now);
            if self.buffer.blocked || self.flushing {
                // A flush that waited on the held queue had its buffer polls backing off:
                // look again at the next task, as after any send.
                self.buffer.last_check = None;
                self.schedule_buffer_check(now);
            }
        }
    }

    /// Whether everything accepted has left the browser. `Ok(false)`: not yet, and the
    /// machine now polls the buffer until it has. `Err`: closed with messages never sent.
    pub fn poll_flush(&mut self, now: impl Now) -> Result<bool, Error> {
        match self.phase {
            // A close timeout may yet put bytes back: wait for the end.
            Phase::Closing { .. } => Ok(false),
            Phase::Closed if self.outbox.queued() == 0 && !self.stranded => Ok(true),
            Phase::Closed => Err(Error::SocketClosed),
            Phase::Open { .. } if self.outbox.queued() == 0 && self.buffer.estimate == 0 => {
                self.flushing = false;
                Ok(true)
            }
            // No socket holds anything and nothing is queued: everything accepted has left
            // (what a dead connection had not transmitted would be queued again).
            Phase::Connecting { .. } | Phase::Waiting { .. } if self.outbox.queued() == 0 => {
                self.flushing = false;
                Ok(true)
            }
            _ => {
                if !self.flushing {
                    self.flushing = true;
                    if self.buffer.next_check.is_none() {
                        self.schedule_buffer_check(now.now());
                    }
                }
                Ok(false)
            }
        }
    }

    /// The application asks to close for good. Validates like the browser would; cancels a
    /// pending reconnect at once.
    pub fn close(&mut self, now: Duration, code: u16, reason: &str) -> Result<(), Error> {
        validate_close(code, reason)?;
        match self.phase {
            Phase::Connecting { .. } | Phase::Open { .. } => {
                self.actions.push_back(Action::Close {
                    code,
                    reason: reason.to_owned(),
                });
                let deadline = Deadline::new(now.saturating_add(self.config.close_timeout));
                self.local_close = None;
                self.phase = Phase::Closing { deadline };
            }
            Phase::Waiting { .. } => self.end(None),
            Phase::Closing { .. } | Phase::Closed => {}
        }
        Ok(())
    }

    /// Once closed for good, lets go of the reconnect policy, the open hook and, unless
    /// `keep_pong_matcher`, the heartbeat (its pong matcher): a caller's closures may hold
    /// on to things (in the JS API, the socket object itself) that should be free to go. The pong matcher is
    /// kept while messages that arrived before the close are still being read (Blobs): it
    /// must still tell their pongs apart.
    pub fn release_callbacks(&mut self, keep_pong_matcher: bool) {
        if self.is_closed() {
            self.config.reconnect_if = None;
            self.config.on_open = None;
            if !keep_pong_matcher {
                self.config.heartbeat = None;
            }
        }
    }

    /// The error the stream yields before it ends, if the end was not asked for.
    pub fn take_terminal(&mut self) -> Option<Error> {
        self.terminal.take()
    }

    /// Once closed for good: every message that never left the browser, in order.
    pub fn take_unsent(&mut self) -> Vec<Message> {
        if !self.is_closed() {
            return Vec::new();
        }
        let unsent = self.outbox.take_unsent();
        self.stranded |= !unsent.is_empty();
        unsent
    }

    /// The Sink's close: lets the queue drain into the browser first, then closes; closes
    /// anyway after the close timeout, leaving what is still queued unsent.
    pub fn close_when_drained(
        &mut self,
        now: Duration,
        code: u16,
        reason: &str,
    ) -> Result<(), Error> {
        validate_close(code, reason)?;
        let waiting = matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::Open { .. } | Phase::Waiting { .. }
        );
        if waiting && self.outbox.queued() > 0 {
            if self.close_after_drain.is_none() {
                let deadline = now.saturating_add(self.config.close_timeout);
                self.close_after_drain = Some((deadline, code, reason.to_owned()));
            }
            return Ok(());
        }
        self.close(now, code, reason)
    }

    fn emit(&mut self, event: Event) {
        self.actions.push_back(Action::Emit(event));
    }
}
