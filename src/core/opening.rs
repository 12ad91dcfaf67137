//! The open hook: a protocol on top of resocket gets one call per opened connection, before
//! anything queued is sent, to put its own messages first (a login, a `CONNECT`, its
//! subscriptions) and to drop queued messages that made sense only on the old connection.

use super::outbox::Outbox;
use crate::Message;
use std::cell::RefCell;
use std::rc::Rc;

/// The hook a [`Config`](super::Config) runs on every open (see
/// [`Builder::on_open`](crate::Builder::on_open)).
pub type OpenHook = Rc<RefCell<dyn FnMut(&mut Opening<'_>)>>;

/// A connection that has just opened, as the [`on_open`](crate::Builder::on_open) hook sees
/// it: nothing has been sent on it yet.
///
/// The hook may put messages ahead of everything queued ([`send_first`](Self::send_first)),
/// remove queued messages ([`retain`](Self::retain)), and hold the queue back until the
/// application releases it ([`hold_queue`](Self::hold_queue)). The queue at this point holds, in
/// order, the messages the browser never transmitted on the previous connection (re-queued
/// after an abnormal close) and then those accepted while not connected.
#[derive(Debug)]
pub struct Opening<'a> {
    attempt: u32,
    protocol: &'a str,
    outbox: &'a mut Outbox,
    first: Vec<Message>,
    discarded: usize,
    hold: bool,
}

impl<'a> Opening<'a> {
    pub(crate) fn new(attempt: u32, protocol: &'a str, outbox: &'a mut Outbox) -> Self {
        Opening {
            attempt,
            protocol,
            outbox,
            first: Vec::new(),
            discarded: 0,
            hold: false,
        }
    }

    /// The messages to send first, how many queued messages were removed, and whether the
    /// queue is held.
    pub(crate) fn finish(self) -> (Vec<Message>, usize, bool) {
        (self.first, self.discarded, self.hold)
    }

    /// 0 for the first connection, then the number of the reconnection attempt that opened
    /// this one (as in [`Event::Connecting`](crate::Event::Connecting)).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The subprotocol the server chose for this connection (empty if none).
    pub fn protocol(&self) -> &str {
        self.protocol
    }

    /// Sends `message` on this connection before anything queued; several go in the order
    /// given.
    ///
    /// These messages belong to this connection only: they never count against
    /// [`queue_capacity`](crate::Builder::queue_capacity), and if the connection dies before
    /// the browser transmitted them they are not re-queued (the hook runs again on the next
    /// open and sends what that connection needs). Their bytes count in `bufferedAmount`
    /// like any other, so the messages after them are still re-queued exactly.
    pub fn send_first(&mut self, message: Message) {
        self.first.push(message);
    }

    /// Keeps the queued messages for which `keep` returns `true`, in their order, and
    /// returns the others, in order: they will not be sent (the hook decides their fate; its
    /// caller learns how many from [`Event::Discarded`](crate::Event::Discarded)).
    ///
    /// Freeing queue space lets a [`Sink`](futures_sink::Sink) waiting on a full queue go on.
    #[must_use = "the removed messages are handed back, not sent: keep them or drop them knowingly"]
    pub fn retain(&mut self, keep: impl FnMut(&Message) -> bool) -> Vec<Message> {
        let removed = self.outbox.retain(keep);
        self.discarded += removed.len();
        removed
    }

    /// Holds the queue back from this connection until the application calls
    /// [`release_queue`](crate::WebSocket::release_queue): for a protocol whose server must
    /// accept a login first (STOMP's `CONNECTED`), so that what was re-queued from a lost
    /// connection, or sent since, does not go into a session that may yet be refused.
    /// Meanwhile what [`send_first`](Self::send_first) put first goes out at once, the
    /// queue keeps filling up to [`queue_capacity`](crate::Builder::queue_capacity) (then
    /// the Sink waits), and a flush waits. Each connection starts unheld unless its hook
    /// holds it again.
    pub fn hold_queue(&mut self) {
        self.hold = true;
    }

    /// How many messages wait in the queue (after any [`retain`](Self::retain)).
    pub fn queued(&self) -> usize {
        self.outbox.queued()
    }
}
