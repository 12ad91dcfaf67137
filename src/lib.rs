#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! resocket (docs to come)

mod browser;
mod close;
pub mod core;
mod error;
mod event;
mod message;
mod socket;

pub use crate::browser::{BinaryType, CloseOutcome, Target};
pub use crate::core::{default_reconnect_policy, Backoff, Heartbeat, Jitter};
pub use close::{codes, validate_close, CloseFrame, MAX_REASON_BYTES};
pub use error::Error;
pub use event::{Event, State};
pub use message::Message;
pub use socket::{Builder, Closing, Opened, Receiver, Sender, WebSocket};
