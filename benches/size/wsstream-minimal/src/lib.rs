//! Connects, sends one message, and returns the first reply, with ws_stream_wasm: the same
//! app as `resocket-minimal`, for comparing sizes.

use futures::{SinkExt, StreamExt};
use wasm_bindgen::prelude::*;
use ws_stream_wasm::{WsMessage, WsMeta};

/// Echo one message through `url`; resolves to the reply text.
#[wasm_bindgen]
pub async fn echo_once(url: String, text: String) -> Result<String, JsError> {
    let (_meta, mut ws) = WsMeta::connect(&url, None)
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    ws.send(WsMessage::Text(text))
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    match ws.next().await {
        Some(WsMessage::Text(reply)) => Ok(reply),
        Some(WsMessage::Binary(_)) => Err(JsError::new("binary reply")),
        None => Err(JsError::new("closed")),
    }
}
