//! An event listener that removes itself when dropped: no `Closure::forget`, nothing left
//! behind on the target.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

/// One callback listening for one or more event types on one target.
pub(crate) struct Listener {
    target: EventTarget,
    kinds: &'static [&'static str],
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// Adds `f` for every event type in `kinds` (one closure for all: fewer calls into
    /// JavaScript than a closure per type).
    pub(crate) fn new(
        target: &EventTarget,
        kinds: &'static [&'static str],
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        for kind in kinds {
            // Adding a listener only throws for a non-callable callback, which this is not.
            let _ =
                target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        }
        Listener {
            target: target.clone(),
            kinds,
            callback,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for kind in self.kinds {
            let _ = self
                .target
                .remove_event_listener_with_callback(kind, self.callback.as_ref().unchecked_ref());
        }
    }
}
