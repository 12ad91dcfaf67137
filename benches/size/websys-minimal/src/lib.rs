//! Connects, sends one message, and returns the first reply, on `web_sys::WebSocket` with
//! no library: the same app as `resocket-minimal`, for the size any Rust app of this kind
//! starts from (allocator, executor, bindings). The socket's handlers are the promises'
//! own resolve and reject functions, so it has no closures of its own.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, WebSocket};

/// Echo one message through `url`; resolves to the reply text.
#[wasm_bindgen]
pub async fn echo_once(url: String, text: String) -> Result<String, JsError> {
    let ws = WebSocket::new(&url).map_err(|_| JsError::new("invalid URL"))?;
    let opened = Promise::new(&mut |resolve, reject| {
        ws.set_onopen(Some(&resolve));
        ws.set_onclose(Some(&reject));
    });
    JsFuture::from(opened)
        .await
        .map_err(|_| JsError::new("cannot connect"))?;
    let replied = Promise::new(&mut |resolve, reject| {
        ws.set_onmessage(Some(&resolve));
        ws.set_onclose(Some(&reject));
    });
    ws.send_with_str(&text)
        .map_err(|_| JsError::new("cannot send"))?;
    let reply = JsFuture::from(replied).await;
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
    let event: MessageEvent = reply.map_err(|_| JsError::new("closed"))?.unchecked_into();
    event
        .data()
        .as_string()
        .ok_or_else(|| JsError::new("binary reply"))
}
