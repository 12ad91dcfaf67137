//! Connects, sends one message, and returns the first reply: what every app does.

use futures::{SinkExt, StreamExt};
use resocket::{Message, WebSocket};
use wasm_bindgen::prelude::*;

/// Echo one message through `url`; resolves to the reply text.
#[wasm_bindgen]
pub async fn echo_once(url: String, text: String) -> Result<String, JsError> {
    let mut ws = WebSocket::connect(&url)?;
    ws.send(Message::Text(text)).await?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) => Ok(reply),
        Some(Ok(Message::Binary(_))) => Err(JsError::new("binary reply")),
        Some(Err(e)) => Err(e.into()),
        None => Err(JsError::new("closed")),
    }
}
