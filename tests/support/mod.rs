//! The browser tests' shared helpers: the generic ones from `resocket-test-support`, plus
//! what needs resocket's own types.
#![allow(dead_code)]

pub use resocket_test_support::*;

use futures::{Stream, StreamExt};
use resocket::{Backoff, Event, Jitter};
use std::time::Duration;

/// The next event matching `pred`, within `ms`.
pub async fn next_event(
    events: &mut (impl Stream<Item = Event> + Unpin),
    ms: u32,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    within(ms, "an expected event", async {
        loop {
            match events.next().await {
                Some(e) if pred(&e) => return e,
                Some(_) => continue,
                None => panic!("the event stream ended"),
            }
        }
    })
    .await
}

/// A backoff of always exactly `ms` before each retry.
pub fn fixed(ms: u64) -> Backoff {
    Backoff::new()
        .base(Duration::from_millis(ms))
        .cap(Duration::from_millis(ms))
        .jitter(Jitter::None)
}
