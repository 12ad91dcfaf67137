//! The browser tests' shared helpers: the generic ones from `resocket-test-support`, plus
//! what needs resocket's own types.
#![allow(dead_code)]

pub use resocket_test_support::*;

use futures::{Stream, StreamExt};
use resocket::Event;

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
