//! The thin browser driver: the only code that touches `web-sys` and `js-sys`.

mod convert;
mod driver;
mod listener;

pub use driver::{BinaryType, CloseOutcome, InboundOverflow, Target};
pub(crate) use driver::{Inner, Shared, TargetProvider};
