//! `for await (const data of socket)`: each iterator gets every message that arrives after
//! it was made, in order, and finishes when the socket closes for good (throwing once if
//! that end was not asked for, like the Rust stream) or when `return()` is called (then it
//! never throws).
//!
//! With `inboundLimit`, messages the socket dropped are not an exception (that would end
//! the loop, on a policy that expects drops): each iterator counts them in `dropped`, as
//! of the message it handed out last, and the socket dispatches a `dropped` event.

use js_sys::{Object, Promise};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::prelude::*;

/// What a queued message keeps until it is handed out or let go of.
pub(crate) type Held = Option<Box<dyn Any>>;

/// What one iterator has received and not yet handed out.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Each message, with how many were dropped just before it and what it holds until
    /// it is handed out or let go of ([`push_held`](Self::push_held)).
    queue: RefCell<VecDeque<(usize, JsValue, Held)>>,
    /// Dropped after the last message queued: counted with the next one, or at the end.
    gap: Cell<usize>,
    /// Dropped before the last message handed out (or before the end, once done).
    dropped: Cell<usize>,
    /// The socket's pump, waiting for this inbox to be empty before it takes the next
    /// message (`inboundLimit`: the slowest `for await` sets the pace).
    drained: RefCell<Option<Waker>>,
    /// Set when the socket closed for good: `Some(error)` if that end was not asked for.
    end: RefCell<Option<Option<JsValue>>>,
    /// `return()` was called (a `break` out of the loop): nothing more is kept.
    stopped: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Inbox {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub(crate) fn push(&self, data: JsValue) {
        self.push_held(data, None);
    }

    /// [`push`](Self::push), keeping `held` until the message is handed out or let go of:
    /// a STOMP message's count against its subscription's unread limit.
    pub(crate) fn push_held(&self, data: JsValue, held: Held) {
        if !self.stopped.get() {
            self.queue
                .borrow_mut()
                .push_back((self.gap.take(), data, held));
            self.wake();
        }
    }

    /// `count` messages were dropped here.
    pub(crate) fn skip(&self, count: usize) {
        if !self.stopped.get() {
            self.gap.set(self.gap.get().saturating_add(count));
        }
    }

    /// Nothing waits here to be handed out; else `waker` is woken once nothing does.
    pub(crate) fn is_drained(&self, waker: &Waker) -> bool {
        if self.stopped.get() || self.queue.borrow().is_empty() {
            return true;
        }
        *self.drained.borrow_mut() = Some(waker.clone());
        false
    }

    fn take(&self) -> Option<JsValue> {
        let mut queue = self.queue.borrow_mut();
        let (gap, data, _held) = queue.pop_front()?;
        self.dropped.set(self.dropped.get().saturating_add(gap));
        if queue.is_empty() {
            drop(queue);
            self.wake_drained();
        }
        Some(data)
    }

    fn wake_drained(&self) {
        if let Some(waker) = self.drained.take() {
            waker.wake();
        }
    }

    pub(crate) fn finish(&self, error: Option<JsValue>) {
        self.end.borrow_mut().get_or_insert(error);
        self.wake();
    }

    /// Wakes `waker` too the next time something happens here (a message, the end, or
    /// `return()`): how a subscription learns that its iterator was stopped.
    #[cfg(feature = "stomp")]
    pub(crate) fn watch(&self, waker: &Waker) {
        let mut wakers = self.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    fn wake(&self) {
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Also what an iterator let go of without `return()` (`free()`, garbage collection,
    /// `using`) does, from `Drop`: it no longer sets the pace.
    fn stop(&self) {
        self.stopped.set(true);
        self.queue.borrow_mut().clear();
        // Asked to stop: from now on `next()` says done, even if the socket had ended with
        // an error that was not yet thrown.
        *self.end.borrow_mut() = Some(None);
        self.wake();
        self.wake_drained();
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // The pump may be waiting for this inbox to drain (`inboundLimit`): it must look
        // again, or every other loop and listener would wait for a message that is gone.
        self.stop();
    }
}

fn result(value: &JsValue, done: bool) -> JsValue {
    let r = Object::new();
    super::convert::set(&r, "value", value);
    super::convert::set(&r, "done", &done.into());
    r.into()
}

/// The async iterator of a `ResilientWebSocket` (from `socket[Symbol.asyncIterator]()`).
#[wasm_bindgen(js_name = ResilientWebSocketIterator, skip_typescript)]
pub struct MessageIterator {
    inbox: Rc<Inbox>,
}

impl MessageIterator {
    pub(crate) fn new(inbox: Rc<Inbox>) -> Self {
        MessageIterator { inbox }
    }
}

#[wasm_bindgen(js_class = ResilientWebSocketIterator)]
impl MessageIterator {
    /// The next message's data, or `done` once the socket closed for good or `return()` was
    /// called; rejects once with the error that ended the socket, if it was not closed on
    /// purpose and `return()` did not come first.
    pub fn next(&self) -> Promise {
        let inbox = self.inbox.clone();
        super::promise(async move {
            poll_fn(|cx| {
                if let Some(data) = inbox.take() {
                    return Poll::Ready(Ok(result(&data, false)));
                }
                let mut end = inbox.end.borrow_mut();
                if end.is_some() {
                    let dropped = inbox.dropped.get().saturating_add(inbox.gap.take());
                    inbox.dropped.set(dropped);
                }
                // The error is thrown once; the iterator is done after it.
                let error = match end.as_mut() {
                    Some(error) => error.take(),
                    None => {
                        inbox.wakers.borrow_mut().push(cx.waker().clone());
                        return Poll::Pending;
                    }
                };
                // (No borrow held while the result is made: setting its properties can
                // run setters a page put on `Object.prototype`.)
                drop(end);
                match error {
                    Some(error) => Poll::Ready(Err(error)),
                    None => Poll::Ready(Ok(result(&JsValue::UNDEFINED, true))),
                }
            })
            .await
        })
    }

    /// With `inboundLimit: { onFull: "drop" }`: how many messages the socket dropped since
    /// this iterator was made, up to the message it handed out last (or the end). Shared by
    /// the iterators of one `for await`.
    #[wasm_bindgen(getter)]
    pub fn dropped(&self) -> f64 {
        self.inbox.dropped.get() as f64
    }

    /// Stops the iteration (what `break` calls): later messages are not kept, and `next()`
    /// says done from now on, also after an error not yet thrown.
    #[wasm_bindgen(js_name = "return")]
    pub fn stop(&self) -> Promise {
        self.inbox.stop();
        Promise::resolve(&result(&JsValue::UNDEFINED, true))
    }

    /// The iterator itself, so it can be used in `for await` too.
    #[wasm_bindgen(js_name = "[Symbol.asyncIterator]")]
    pub fn iter(&self) -> MessageIterator {
        MessageIterator {
            inbox: self.inbox.clone(),
        }
    }
}
