//! The ordered way out. `send()` hands a message to the Rust Sink at once when nothing is
//! waiting before it; otherwise it queues here, behind a Blob being read or a `sendAsync()`
//! waiting for room, so messages always leave in the order they were given. One task at a
//! time works through the queue and ends when it is empty. `close()` on an open connection
//! hands everything queued to the Sink at once (up to a Blob still being read), without
//! waiting for room.

use super::convert::{self, Payload};
use super::socket::Core;
use crate::{Error, Message, Sender};
use futures_channel::oneshot;
use futures_sink::Sink;
use js_sys::{Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// Settles a promise made by `sendAsync()`, `ready()` or `flush()`.
pub(crate) type Done = oneshot::Sender<Result<(), JsValue>>;

struct Item {
    /// Told apart by this, not by position: the front may change while the task that works
    /// through the queue waits (`takeUnsent()` empties the queue, `close()` hands over).
    id: u64,
    /// `None`: a marker for `ready()`, `flush()` or `close()`.
    payload: Option<Payload>,
    /// What it added to `bytes` (taken off again exactly: a Blob read may give other than
    /// its size).
    counted: f64,
    /// Wait for the Sink to have room first (`sendAsync()`, `ready()`).
    wait_ready: bool,
    done: Option<Done>,
    /// `close()`'s marker: the code and reason to close with once everything before it is
    /// in the Sink.
    close: Option<(u16, String)>,
}

#[derive(Default)]
pub(crate) struct Queue {
    items: RefCell<VecDeque<Item>>,
    next_id: Cell<u64>,
    /// Bytes waiting here, for `bufferedAmount`.
    bytes: Cell<f64>,
    running: Cell<bool>,
    /// The task working through the queue, while it waits for room: `close()` wakes it,
    /// since nothing waits for room any more once sending is over.
    waiting: RefCell<Option<Waker>>,
    /// What never reached the Sink because the socket closed for good, for `takeUnsent()`.
    unsent: RefCell<Vec<JsValue>>,
    /// Something given here never reached the Sink: a `flush()` can no longer succeed,
    /// even once `takeUnsent()` handed it back (like the Rust Sink's).
    stranded: Cell<bool>,
}

impl Queue {
    pub(crate) fn bytes(&self) -> f64 {
        self.bytes.get()
    }

    /// Once the socket is closed for good: what never reached the Sink, in order. What
    /// still waits here is failed now (its promises reject), not when the task that works
    /// through the queue next runs, so nothing given before this call is left out.
    pub(crate) fn take_unsent(&self) -> Vec<JsValue> {
        fail_all(self, &Error::SocketClosed);
        std::mem::take(&mut *self.unsent.borrow_mut())
    }

    /// Whether something given here was left unsent when the socket closed for good.
    pub(crate) fn stranded(&self) -> bool {
        self.stranded.get()
    }

    /// Keeps what can no longer be sent, for `takeUnsent()`.
    fn strand(&self, data: JsValue) {
        self.unsent.borrow_mut().push(data);
        self.stranded.set(true);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }

    fn front_id(&self) -> Option<u64> {
        self.items.borrow().front().map(|i| i.id)
    }
}

/// `send()`: at once if nothing waits, else in the queue. Never waits.
pub(crate) fn send(core: &Rc<Core>, payload: Payload) -> Result<(), JsValue> {
    if core.queue.is_empty() {
        if let Payload::Message(message) = payload {
            let mut sender = core.sender.clone();
            return Pin::new(&mut sender)
                .start_send(message)
                .map_err(|e| convert::error(&e));
        }
    }
    push(core, Some(payload), false, None);
    Ok(())
}

/// Queues an item and makes sure a task works through the queue.
pub(crate) fn push(
    core: &Rc<Core>,
    payload: Option<Payload>,
    wait_ready: bool,
    done: Option<Done>,
) {
    let counted = payload.as_ref().map_or(0.0, Payload::len);
    enqueue(core, payload, counted, wait_ready, done, None);
}

/// `close()` on an open connection: everything queued here goes into the Sink first,
/// without waiting for room (sending is over), at once up to the first Blob still to be
/// read, the rest once read; then the socket closes, once its own queue has drained into
/// the browser (within the close timeout).
pub(crate) fn close_after(core: &Rc<Core>, code: u16, reason: String) {
    let mut sender = core.sender.clone();
    loop {
        let ready = matches!(
            core.queue.items.borrow().front(),
            Some(item) if !matches!(item.payload, Some(Payload::Blob(..)))
        );
        if !ready || !hand_over_front(core, &mut sender) {
            break;
        }
    }
    if core.queue.is_empty() {
        // Validated by `close()`; a socket already closed for good ignores it.
        let _ = sender.close_when_drained(code, &reason);
        return;
    }
    enqueue(core, None, 0.0, false, None, Some((code, reason)));
    if let Some(waker) = core.queue.waiting.take() {
        waker.wake();
    }
}

fn enqueue(
    core: &Rc<Core>,
    payload: Option<Payload>,
    counted: f64,
    wait_ready: bool,
    done: Option<Done>,
    close: Option<(u16, String)>,
) {
    let queue = &core.queue;
    let id = queue.next_id.get();
    queue.next_id.set(id.wrapping_add(1));
    queue.bytes.set(queue.bytes.get() + counted);
    queue.items.borrow_mut().push_back(Item {
        id,
        payload,
        counted,
        wait_ready,
        done,
        close,
    });
    if !queue.running.replace(true) {
        wasm_bindgen_futures::spawn_local(run(core.clone()));
    }
}

async fn run(core: Rc<Core>) {
    let queue = &core.queue;
    let mut sender = core.sender.clone();
    loop {
        let (id, blob, wait_ready) = match queue.items.borrow().front() {
            None => break,
            Some(item) => (
                item.id,
                match &item.payload {
                    Some(Payload::Blob(b, _)) => Some(b.clone()),
                    _ => None,
                },
                item.wait_ready,
            ),
        };
        if let Some(blob) = blob {
            // Read and copied before the queue is borrowed: a JS caller may have replaced
            // the Blob's `arrayBuffer`, and whatever it runs may call back into the socket.
            let read = read_blob(&blob).await;
            let mut items = queue.items.borrow_mut();
            // The bytes belong to that Blob only, if it is still first.
            let Some(front) = items.front_mut().filter(|f| f.id == id) else {
                continue;
            };
            match read {
                Ok(bytes) => {
                    front.payload = Some(Payload::Message(Message::Binary(bytes)));
                }
                Err(e) => {
                    // An unreadable Blob is not sent; the caller hears of it, and the
                    // messages after it go on.
                    let item = items.pop_front();
                    drop(items);
                    let counted = item.as_ref().map_or(0.0, |i| i.counted);
                    queue.bytes.set((queue.bytes.get() - counted).max(0.0));
                    match item.and_then(|i| i.done) {
                        Some(done) => {
                            let _ = done.send(Err(e));
                        }
                        None => core.dispatch_error("a Blob given to send() could not be read", &e),
                    }
                    continue;
                }
            }
        }
        if wait_ready {
            let ready = poll_fn(|cx| {
                // Once `close()` was called nothing waits for room: all goes in.
                if core.close_asked.get() {
                    return Poll::Ready(Ok(()));
                }
                *queue.waiting.borrow_mut() = Some(cx.waker().clone());
                Pin::new(&mut sender).poll_ready(cx)
            })
            .await;
            queue.waiting.take();
            if let Err(e) = ready {
                fail_all(queue, &e);
                break;
            }
            if queue.front_id() != Some(id) {
                continue;
            }
        }
        if !hand_over_front(&core, &mut sender) {
            break;
        }
    }
    queue.running.set(false);
}

/// Puts the first item into the Sink (a message) or settles it (a marker; `close()`'s
/// closes). `false` if the socket was closed for good: then everything queued failed.
fn hand_over_front(core: &Core, sender: &mut Sender) -> bool {
    let queue = &core.queue;
    let Some(item) = queue.items.borrow_mut().pop_front() else {
        return false;
    };
    queue.bytes.set((queue.bytes.get() - item.counted).max(0.0));
    // `ready()` promises that a message sent now would be accepted: once `close()` was
    // called none would be.
    let refuse = item.wait_ready && item.payload.is_none() && core.close_asked.get();
    if let Some(Payload::Message(message)) = item.payload {
        if let Err(e) = Pin::new(&mut *sender).start_send(message.clone()) {
            queue.strand(convert::message_to_js(&message));
            if let Some(done) = item.done {
                let _ = done.send(Err(convert::error(&e)));
            }
            fail_all(queue, &e);
            return false;
        }
    }
    if let Some(done) = item.done {
        let _ = done.send(match refuse {
            true => Err(convert::error(&Error::SocketClosed)),
            false => Ok(()),
        });
    }
    if let Some((code, reason)) = item.close {
        // Validated by `close()`; a socket already closed for good ignores it.
        let _ = sender.close_when_drained(code, &reason);
    }
    true
}

/// A Blob's bytes. Whatever its `arrayBuffer` (the browser's, unless replaced on this
/// page's Blob) throws or rejects with is the error; a result that is not an `ArrayBuffer`
/// is a `TypeError`.
async fn read_blob(blob: &Blob) -> Result<Vec<u8>, JsValue> {
    // Another realm's (an iframe's) is read as a copy made here: the read of a Blob whose
    // frame was removed meanwhile never settles, and every later send would wait behind it.
    let local;
    let blob = match blob.is_instance_of::<Blob>() {
        true => blob,
        false => {
            local = Blob::new_with_blob_sequence(&js_sys::Array::of1(blob))?;
            &local
        }
    };
    // Through Reflect and `call`, which catch (`Blob::array_buffer` does not).
    let read = Reflect::get(blob, &"arrayBuffer".into())?;
    let read: Function = read.dyn_into().map_err(|_| not_read())?;
    let value = read.call0(blob)?;
    // Settled through a promise of our own, not `Promise.resolve(value)`, which gives back a
    // caller's promise as it is: its `then` (or a throwing `constructor` getter) would run
    // in the wasm code, where an exception stops this task for good. Here `then` runs in a
    // promise job, and whatever it throws is a rejection.
    let promise = Promise::new(&mut |resolve, _| {
        let _ = resolve.call1(&JsValue::UNDEFINED, &value);
    });
    let buffer = JsFuture::from(promise).await?;
    // (An iframe's Blob gives an iframe's ArrayBuffer.)
    convert::buffer_bytes(&buffer, None).unwrap_or_else(|| Err(not_read()))
}

/// What a Blob whose `arrayBuffer` is not the browser's gives when it gives no bytes.
fn not_read() -> JsValue {
    js_sys::TypeError::new("the Blob's arrayBuffer() gave no ArrayBuffer").into()
}

/// The socket closed for good: nothing queued can go. The data is kept for `takeUnsent()`;
/// the promises reject.
fn fail_all(queue: &Queue, error: &Error) {
    let items = std::mem::take(&mut *queue.items.borrow_mut());
    queue.bytes.set(0.0);
    for item in items {
        if let Some(payload) = &item.payload {
            queue.strand(payload.to_js());
        }
        if let Some(done) = item.done {
            let _ = done.send(Err(convert::error(error)));
        }
    }
}
