//! Detecting dead connections with application-level pings.

use super::Machine;
use crate::Message;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// An application-level heartbeat.
///
/// Browsers cannot send WebSocket protocol pings, so the ping is an ordinary message your
/// server must answer. While the connection is open and nothing has arrived for
/// `interval`, resocket sends the ping; if nothing at all arrives within `timeout` after
/// it, the connection is taken for dead: resocket closes it with code 4000
/// ([`codes::HEARTBEAT_TIMEOUT`](crate::codes::HEARTBEAT_TIMEOUT)), emits
/// [`Event::HeartbeatTimeout`](crate::Event::HeartbeatTimeout), and reconnects per the
/// policy. Any inbound message counts as a sign of life; messages the pong matcher
/// recognises are not yielded to the application.
///
/// Hidden tabs: browsers throttle timers there (Chrome aligns them to 1 s, and after 5
/// minutes hidden runs them once a minute), and a suspended page runs its overdue timers
/// before the network events that queued meanwhile. So a deadline that fires much later
/// than it was set for does not declare death: it sends a fresh ping and waits `timeout`
/// again; only a ping sent on time and left unanswered kills the connection. A ping that
/// had to wait behind data in `bufferedAmount` (a slow uplink) has its deadline extended
/// while bytes keep leaving the browser: before it, the pong cannot have come yet; after
/// it, it may have left only just now, or wait in the system's buffers behind what went
/// before it. So the connection ends after a whole `timeout` with no pong and, for such a
/// ping, nothing leaving either; once such a ping has left and the browser holds nothing
/// more, one more `timeout` at most (an app that keeps sending a little does not keep a
/// dead connection alive). A deadline that fires more than a second late is judged a
/// second later, after the events queued meanwhile.
///
/// Off by default, because it needs a server that answers; defaults when enabled with
/// [`Heartbeat::default`]: ping `"ping"`, pong `"pong"`, interval 25 s (below the 30–60 s
/// idle timeouts of common proxies and load balancers), timeout 10 s.
#[derive(Clone)]
pub struct Heartbeat {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) ping: Message,
    pub(crate) is_pong: Rc<dyn Fn(&Message) -> bool>,
    /// The machine's heartbeat step, due when the interval or a ping's deadline is up. It
    /// comes with the heartbeat (set where one is made) instead of being called by name,
    /// so an app that never makes a heartbeat carries none of its code (1.3 KB of wasm).
    pub(crate) tick: fn(&mut Machine, Duration),
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval: Duration::from_secs(25),
            timeout: Duration::from_secs(10),
            ping: Message::Text("ping".into()),
            is_pong: Rc::new(|m| m.as_text() == Some("pong")),
            tick: Machine::heartbeat_tick,
        }
    }
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heartbeat")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("ping", &self.ping)
            .finish_non_exhaustive()
    }
}

impl Heartbeat {
    /// A heartbeat with this interval and timeout and the default `"ping"`/`"pong"` texts.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Heartbeat {
            interval,
            timeout,
            ..Self::default()
        }
    }

    /// The idle time after which a ping is sent.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long to wait for any inbound message after a ping (longer while a ping that
    /// waited behind data is still followed by bytes leaving the browser: see above).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The ping message.
    pub fn ping(mut self, ping: impl Into<Message>) -> Self {
        self.ping = ping.into();
        self
    }

    /// Recognise pongs: messages for which this returns true are swallowed. It runs inside
    /// resocket's message handling, where methods of the socket cannot act (they answer
    /// with the state as of the last event, neutral values, or an error).
    pub fn pong_matcher(mut self, is_pong: impl Fn(&Message) -> bool + 'static) -> Self {
        self.is_pong = Rc::new(is_pong);
        self
    }

    /// Recognise exactly this message as the pong.
    pub fn pong(self, pong: impl Into<Message>) -> Self {
        let pong = pong.into();
        self.pong_matcher(move |m| *m == pong)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.interval.is_zero() || self.timeout.is_zero() {
            return Err("heartbeat interval and timeout must be greater than zero".into());
        }
        Ok(())
    }

    /// How late a deadline may fire before it is not trusted to mean silence.
    pub(crate) fn late_slack(&self) -> Duration {
        super::backoff::half(self.timeout).max(Duration::from_secs(1))
    }
}
