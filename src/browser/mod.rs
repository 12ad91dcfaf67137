//! The thin browser driver: the only code that touches `web-sys` and `js-sys`.

mod convert;
mod driver;
mod listener;
mod timer;

#[cfg(feature = "stomp")]
pub(crate) use convert::now;
#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub(crate) use convert::{bytes, string_property};
pub(crate) use driver::{
    later, wake_all, BlobReader, Failure, Inner, Resolve, Shared, Snapshot, TargetProvider,
};
pub use driver::{BinaryType, CloseOutcome, Target};
#[cfg(all(target_arch = "wasm32", feature = "js", feature = "stomp"))]
pub(crate) use listener::Listener;
