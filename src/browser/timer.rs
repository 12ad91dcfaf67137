//! One browser timer for all the sockets of a thread. Each socket's [`Timer`] says when it
//! next needs to run; a single `setTimeout` is pending for the earliest of those deadlines,
//! and when it fires it runs the sockets that are due and sets itself for the next one.
//!
//! Shared because `setTimeout` and `clearTimeout` are among the dearest calls a socket makes:
//! with a timer per socket, every connect (connect timeout) and every close (close timeout)
//! set or cleared one. Now a pending timeout stays when it fires no later than what is
//! asked, and one that is no longer needed is left to fire into nothing instead of being
//! cleared, so a page that opens and closes sockets in a row sets about one timeout per
//! close timeout (5 s by default) instead of four per connection.
//!
//! A deadline that is already due runs at the next task, through a message posted to a
//! `MessageChannel` of the thread, not `setTimeout(0)`: browsers hold a timeout set from
//! inside another timeout's callback, five deep, to at least 4 ms, and a loop of
//! `send().await`s (each flush done in a callback, the next set from there) would soon pay
//! that on every message. For the same reason a deadline less than 4 ms away is set from
//! that message's task, which is never nested, unless it is being set there already: buffer
//! polls, each set from the last, would otherwise come 4 ms apart while a fast link drains.
//!
//! Dropping a `Timer` removes its entry, so nothing of its socket runs after it is gone. The
//! browser timeout may still fire once after the last socket has gone: it finds nothing due
//! and is not set again. Its callback is made once per thread and lives as long as the
//! thread; the channel is made on first use and closed when the last socket goes (an open
//! port with a handler would also keep a Node.js process alive). For the same reason, in
//! Node.js (whose timeout ids are objects, not numbers) a pending timeout is cleared when
//! the last socket goes: a script whose sockets are all closed then ends at once, not when
//! the close or heartbeat deadline armed last would have fired.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    // The global's own functions: present in windows and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// One socket's place in the thread's timer: dropping it takes the socket out.
pub(crate) struct Timer {
    id: u32,
}

struct Entry {
    id: u32,
    /// When this entry's callback must run next, if at all.
    at: Option<Duration>,
    /// Called with the time it runs at.
    callback: Rc<dyn Fn(Duration)>,
}

/// The least delay browsers give a timeout set from inside a deeply nested timeout's task.
const NESTED_MIN_MS: i32 = 4;

#[derive(Default)]
struct Timers {
    entries: Vec<Entry>,
    next_id: u32,
    /// The deadline the pending browser timeout is for, and its id.
    timeout: Option<(Duration, JsValue)>,
    /// A message is posted to `channel` and not yet arrived. It comes at the next task,
    /// before any timeout, and runs whatever is due then (and sets the timeout for the
    /// rest), so it serves every deadline; a pending timeout stays as it is meanwhile.
    posted: bool,
    /// Made on first use; called by the browser when the timeout fires.
    on_timeout: Option<Closure<dyn FnMut()>>,
    /// Made on first use, closed when no entry is left: a message posted to its second
    /// port runs `fire` at the next task.
    channel: Option<Channel>,
    /// The posted message is being handled: a timeout set now is not nested in another
    /// timeout's task (see [`Timers::arm`]).
    in_posted_task: bool,
}

thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::default();
}

/// Runs `f` on the thread's timers. No callback of ours or the user's runs inside (the
/// browser calls `setTimeout`'s handler later, as a task), so the state is never borrowed
/// here; should it be, `f` is skipped rather than panicking.
fn with_timers<R: Default>(f: impl FnOnce(&mut Timers) -> R) -> R {
    TIMERS
        .try_with(|t| {
            t.try_borrow_mut()
                .map(|mut t| f(&mut t))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

impl Timer {
    /// A new entry with nothing due; `callback` runs, given the time, each time a deadline
    /// given to [`Timer::set`] has passed.
    pub(crate) fn new(callback: impl Fn(Duration) + 'static) -> Self {
        let callback: Rc<dyn Fn(Duration)> = Rc::new(callback);
        let id = with_timers(|t| {
            let id = t.next_id;
            t.next_id = t.next_id.wrapping_add(1);
            t.entries.push(Entry {
                id,
                at: None,
                callback,
            });
            id
        });
        Timer { id }
    }

    /// Runs the callback once `at` has passed, instead of at any deadline set before.
    pub(crate) fn set(&self, at: Duration) {
        with_timers(|t| {
            if let Some(entry) = t.entries.iter_mut().find(|e| e.id == self.id) {
                entry.at = Some(at);
            }
            t.arm(at);
        });
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        with_timers(|t| {
            t.entries.retain(|e| e.id != self.id);
            // The last socket is gone: the channel goes too (its ports closed, its handler
            // removed), so nothing of ours stays listening; a message still in flight is
            // never delivered, hence `posted` is cleared. The next socket makes a new one.
            if t.entries.is_empty() {
                t.channel = None;
                t.posted = false;
                if let Some((_, id)) = t.timeout.take_if(|(_, id)| id.is_object()) {
                    clear_timeout(&id);
                }
            }
        });
    }
}

impl Timers {
    /// Makes sure the browser calls back no later than `at`.
    fn arm(&mut self, at: Duration) {
        // Firing early is harmless: entries not yet due wait for the next call.
        if self.posted || self.timeout.as_ref().is_some_and(|(p, _)| *p <= at) {
            return;
        }
        // The clock is read only here, when a callback is set: not on every call to `set`.
        let delay = at.saturating_sub(super::convert::now());
        // Rounded up, so the timeout never fires just before the deadline and re-arms for
        // 0 ms. (u64 arithmetic: `as_millis()` is u128, whose division is a kilobyte of wasm;
        // the seconds capped first, so nothing can overflow: a saturating multiplication
        // would bring in a 128-bit one.)
        let secs = delay.as_secs().min(i32::MAX as u64 / 1000 + 1);
        let ms = (secs * 1000 + u64::from(delay.subsec_nanos().div_ceil(1_000_000)))
            .min(i32::MAX as u64) as i32;
        // Browsers hold a timeout set from inside another timeout's task, five deep, to at
        // least 4 ms (HTML's timer nesting level). Buffer polls set one timeout from the
        // last, so a short one would soon wait 4 ms, and a fast link drain while nobody
        // looks (W2 of `npm run bench` made 0.76× raw JS's throughput at 335 MB/s).
        // A short timeout is set from the posted message's task instead, which is never
        // nested: one message more per short timeout.
        if ms == 0 || ms < NESTED_MIN_MS && !self.in_posted_task {
            if self.channel.is_none() {
                self.channel = Channel::new();
            }
            // Posting fails only for data that cannot be cloned (`undefined` can); without a
            // channel or should it fail, a timeout does it.
            if let Some(channel) = &self.channel {
                if channel.sender.post_message(&JsValue::UNDEFINED).is_ok() {
                    self.posted = true;
                    return;
                }
            }
        }
        if let Some((_, id)) = self.timeout.take() {
            clear_timeout(&id);
        }
        let on_timeout = self
            .on_timeout
            .get_or_insert_with(|| Closure::<dyn FnMut()>::new(|| fire(false)));
        let id = set_timeout(on_timeout.as_ref().unchecked_ref(), ms);
        self.timeout = Some((at, id));
    }
}

/// A `MessageChannel`'s two ports: each message posted to `sender` runs `fire` at the
/// next task, through `receiver`'s handler (kept here so it stays alive).
struct Channel {
    sender: web_sys::MessagePort,
    receiver: web_sys::MessagePort,
    _on_message: Closure<dyn FnMut()>,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.receiver.set_onmessage(None);
        self.receiver.close();
        self.sender.close();
    }
}

impl Channel {
    fn new() -> Option<Channel> {
        let channel = web_sys::MessageChannel::new().ok()?;
        let on_message = Closure::<dyn FnMut()>::new(|| fire(true));
        let receiver = channel.port1();
        // Setting `onmessage` also starts the port.
        receiver.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Channel {
            sender: channel.port2(),
            receiver,
            _on_message: on_message,
        })
    }
}

/// The browser timeout fired, or the posted message arrived (`posted`): runs every entry
/// that is due, after setting the timeout for the earliest entry that is not (callbacks
/// may set their entries again, or drop them).
fn fire(posted: bool) {
    let now = super::convert::now();
    let due: Vec<Rc<dyn Fn(Duration)>> = with_timers(|t| {
        match posted {
            true => t.posted = false,
            false => t.timeout = None,
        }
        t.in_posted_task = posted;
        let mut due = Vec::new();
        let mut next: Option<Duration> = None;
        for entry in &mut t.entries {
            match entry.at {
                Some(at) if at <= now => {
                    entry.at = None;
                    due.push(entry.callback.clone());
                }
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
        if let Some(at) = next {
            t.arm(at);
        }
        due
    });
    for callback in due {
        callback(now);
    }
    with_timers(|t| t.in_posted_task = false);
}
