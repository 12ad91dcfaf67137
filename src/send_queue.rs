//! An ordered queue in front of a socket's Sink, for code that cannot await.

use crate::{Error, Message, Sender};
use futures_sink::Sink;
use std::cell::{RefCell, RefMut};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Messages waiting, in order, for a socket's [`Sink`] to take them: for code that cannot
/// await, like a UI event handler or a component's effect (the Yew and Leptos hooks send
/// through one).
///
/// [`push`](Self::push) returns at once. [`forward`](Self::forward) is the task that moves
/// the messages into the socket one by one as its Sink accepts them, so they go out in the
/// order pushed and honour backpressure (`bufferedAmount` above the high-water mark, a
/// full queue while reconnecting) without a flush per message. A queue can exist before
/// its socket: what is pushed waits for the task. Before closing the socket,
/// [`hand_over`](Self::hand_over) gives it everything still waiting at once, so that goes
/// out ahead of the close frame as far as the connection can transmit it.
///
/// Clones share one queue. It holds whatever is pushed, without a bound: the socket's
/// backpressure keeps it waiting here, so code that sends without end should watch
/// [`len`](Self::len) or send through the Sink itself. Once every clone is dropped, nothing
/// can be pushed any more: the forwarding task hands over what still waits, then ends and
/// lets go of its `Sender` (which closes the socket if that was its last handle).
///
/// ```no_run
/// use resocket::{Message, SendQueue, WebSocket};
///
/// # fn main() -> Result<(), resocket::Error> {
/// let (sender, _receiver) = WebSocket::connect("wss://example.com/chat")?.split();
/// let queue = SendQueue::new();
/// wasm_bindgen_futures::spawn_local(queue.forward(sender));
/// // In a click handler:
/// queue.push(Message::Text("hello".into()))?;
/// # Ok(()) }
/// ```
pub struct SendQueue {
    shared: Rc<RefCell<Shared>>,
}

struct Shared {
    queue: VecDeque<Message>,
    closed: bool,
    /// The forwarding task, waiting for a message.
    waker: Option<Waker>,
    /// The `SendQueue`s alive (the forwarding task holds the state, not a handle): at 0
    /// nobody can push, and the task ends once the queue is empty.
    handles: usize,
}

impl Shared {
    /// Nothing more can come: closed, or no handle left to push with.
    fn finished(&self) -> bool {
        self.closed || self.handles == 0
    }
}

/// Wakes the forwarding task, if it waits, once the borrow is let go: whatever the waker
/// wakes or lets go of (a task holding the last handle) may borrow the state again.
fn wake(mut shared: RefMut<'_, Shared>) {
    let waker = shared.waker.take();
    drop(shared);
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl Default for SendQueue {
    fn default() -> Self {
        SendQueue {
            shared: Rc::new(RefCell::new(Shared {
                queue: VecDeque::new(),
                closed: false,
                waker: None,
                handles: 1,
            })),
        }
    }
}

impl Clone for SendQueue {
    fn clone(&self) -> Self {
        self.shared.borrow_mut().handles += 1;
        SendQueue {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for SendQueue {
    fn drop(&mut self) {
        // (Never borrowed here: no code of ours keeps the borrow across a call out.)
        let Ok(mut shared) = self.shared.try_borrow_mut() else {
            return;
        };
        shared.handles -= 1;
        if shared.handles == 0 {
            wake(shared);
        }
    }
}

impl std::fmt::Debug for SendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendQueue")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SendQueue {
    /// An empty queue, open for messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `message` after those pushed before it. [`Error::SocketClosed`] once the
    /// queue was [closed](Self::close): the message is not queued.
    pub fn push(&self, message: Message) -> Result<(), Error> {
        let mut shared = self.shared.borrow_mut();
        if shared.closed {
            return Err(Error::SocketClosed);
        }
        shared.queue.push_back(message);
        wake(shared);
        Ok(())
    }

    /// Takes no more messages: [`push`](Self::push) fails from now on, and
    /// [`forward`](Self::forward) ends once it has handed over what was pushed before.
    pub fn close(&self) {
        let mut shared = self.shared.borrow_mut();
        shared.closed = true;
        wake(shared);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed
    }

    /// How many messages wait here, not yet taken by the socket.
    pub fn len(&self) -> usize {
        self.shared.borrow().queue.len()
    }

    /// Whether no message waits here.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task that moves the messages into `sender`'s Sink, in order, each when the Sink
    /// is ready for it (no flush in between); spawn it (e.g. with
    /// `wasm_bindgen_futures::spawn_local`). A message leaves the queue only as it goes
    /// into the socket, so none is ever held where [`hand_over`](Self::hand_over) could
    /// not find it. Ends once the queue is empty and closed (or every `SendQueue` handle is
    /// gone), or once the socket is closed for good (also while it waits for a push): then
    /// it closes the queue (what waits stays here, [`len`](Self::len) counts it) and lets
    /// go of its `Sender`.
    pub fn forward(&self, mut sender: Sender) -> impl Future<Output = ()> + 'static {
        let shared = self.shared.clone();
        async move {
            loop {
                let next = poll_fn(|cx| match Pin::new(&mut sender).poll_ready(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(_)) => Poll::Ready(None),
                    Poll::Ready(Ok(())) => {
                        let mut shared = shared.borrow_mut();
                        match shared.queue.pop_front() {
                            Some(message) => Poll::Ready(Some(message)),
                            None if shared.finished() => Poll::Ready(None),
                            None => {
                                // The waker it replaces is dropped after the borrow: were
                                // it the last hold on a task that owns a `SendQueue`, that
                                // handle's drop must be able to count itself out.
                                let replaced = shared.waker.replace(cx.waker().clone());
                                drop(shared);
                                drop(replaced);
                                // Also woken by the socket's end, to let go of the Sender.
                                match sender.poll_ended(cx) {
                                    Poll::Ready(()) => Poll::Ready(None),
                                    Poll::Pending => Poll::Pending,
                                }
                            }
                        }
                    }
                })
                .await;
                // Err: closed for good since `poll_ready` (this task never runs inside one
                // of the socket's callbacks, where it would be busy).
                let Some(message) = next else { break };
                if Pin::new(&mut sender).start_send(message).is_err() {
                    break;
                }
            }
            shared.borrow_mut().closed = true;
        }
    }

    /// Gives `sender` everything waiting here at once, whatever its backpressure (a Sink's
    /// `start_send` without `poll_ready` queues the message in the socket, never dropping
    /// it): before closing the socket, so what was pushed goes out ahead of the close
    /// frame as far as the connection can transmit it. Called from inside one of the
    /// socket's own callbacks, where it cannot take messages, or once it is closed for
    /// good, the messages stay here.
    pub fn hand_over(&self, sender: &Sender) {
        let mut sender = sender.clone();
        loop {
            let Some(message) = self.shared.borrow_mut().queue.pop_front() else {
                return;
            };
            // A copy, to keep should the socket not take it.
            if Pin::new(&mut sender).start_send(message.clone()).is_err() {
                self.shared.borrow_mut().queue.push_front(message);
                return;
            }
        }
    }
}
