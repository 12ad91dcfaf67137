//! The thin browser driver: the only code that touches `web-sys` and `js-sys`.

pub(crate) mod convert;
mod driver;
mod listener;
mod timer;

pub(crate) use driver::{wake_all, BlobReader, Inner, Shared, TargetProvider};
pub use driver::{BinaryType, CloseOutcome, Target};
