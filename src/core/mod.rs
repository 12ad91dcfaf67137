//! The sans-IO core: connection state, reconnection, heartbeat, backpressure and the
//! outbound queue as a pure state machine. Nothing here touches the browser; the driver in
//! `browser/` feeds it inputs with the time and carries out its [`Action`]s. That makes every
//! hard behaviour a deterministic function of inputs, tested on the host in milliseconds.

mod backoff;
mod heartbeat;
mod machine;
mod opening;
mod outbox;
mod protocols;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub(crate) use backoff::Rng;
pub use backoff::{Backoff, Jitter};
pub use heartbeat::Heartbeat;
pub use machine::{
    default_reconnect_policy, Action, Admission, Config, InboundOverflow, Machine, Now, Ready,
    ReconnectPolicy, DEFAULT_LOW_WATER_MARK,
};
pub use opening::{OpenHook, Opening};
pub use protocols::validate_protocols;
