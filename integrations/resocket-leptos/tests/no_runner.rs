//! The hook called before Leptos has a task runner (before `mount_to`, or in a test that
//! never mounts): it must work, not panic. Its own test binary, so no other test has set
//! the runner first.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use resocket::{Message, State};
use resocket_leptos::use_websocket;
use resocket_test_support::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn the_hook_works_before_leptos_has_a_task_runner() {
    let got = Rc::new(RefCell::new(Vec::new()));
    let owner = Owner::new();
    let ws = owner.with(|| {
        let ws = use_websocket(ws_url("/echo"));
        let got = got.clone();
        ws.on_message(move |m: Message| got.borrow_mut().push(m));
        ws
    });
    wait_for(10_000, "the state to be Open", || {
        ws.state.get_untracked() == State::Open
    })
    .await;
    ws.send(Message::Text("ping".into()));
    wait_for(5_000, "the echo", || !got.borrow().is_empty()).await;
    assert_eq!(got.borrow()[0], Message::Text("ping".into()));
    drop(owner);
}
