//! Connects, sends one message, and returns the first reply, with gloo-net: the same app
//! as `resocket-minimal`, for comparing sizes.

use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use wasm_bindgen::prelude::*;

/// Echo one message through `url`; resolves to the reply text.
#[wasm_bindgen]
pub async fn echo_once(url: String, text: String) -> Result<String, JsError> {
    let mut ws = WebSocket::open(&url).map_err(|e| JsError::new(&e.to_string()))?;
    ws.send(Message::Text(text))
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) => Ok(reply),
        Some(Ok(Message::Bytes(_))) => Err(JsError::new("binary reply")),
        Some(Err(e)) => Err(JsError::new(&e.to_string())),
        None => Err(JsError::new("closed")),
    }
}
