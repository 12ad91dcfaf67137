//! One browser timer per socket. The callback is made once and re-armed with `setTimeout`
//! as deadlines change (no new closure per arm); a pending timeout is cleared whenever it
//! is replaced or the timer is dropped, so it never fires after its owner is gone.

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

pub(crate) struct Timer {
    callback: Closure<dyn FnMut()>,
    /// The deadline the pending timeout is for, and its id.
    pending: Option<(Duration, JsValue)>,
}

impl Timer {
    pub(crate) fn new(callback: impl FnMut() + 'static) -> Self {
        Timer {
            callback: Closure::new(callback),
            pending: None,
        }
    }

    /// The deadline of the pending timeout, if one is pending.
    pub(crate) fn pending(&self) -> Option<Duration> {
        self.pending.as_ref().map(|(at, _)| *at)
    }

    /// Fires the callback in `ms` milliseconds (for the deadline `at`), instead of any
    /// pending timeout.
    pub(crate) fn set(&mut self, at: Duration, ms: u32) {
        self.cancel();
        let ms = ms.min(i32::MAX as u32) as i32;
        let id = set_timeout(self.callback.as_ref().unchecked_ref(), ms);
        self.pending = Some((at, id));
    }

    /// Called from the callback: the timeout has fired, there is nothing to clear.
    pub(crate) fn fired(&mut self) {
        self.pending = None;
    }

    fn cancel(&mut self) {
        if let Some((_, id)) = self.pending.take() {
            clear_timeout(&id);
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}
