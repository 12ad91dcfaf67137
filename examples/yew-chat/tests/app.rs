//! Mounts the Yew chat, talks to the test server, and watches it ride out a dropped
//! connection.
#![cfg(target_arch = "wasm32")]

use resocket_test_support::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use yew_chat::{App, AppProps};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn texts(root: &web_sys::Element, selector: &str) -> Vec<String> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.text_content())
        .collect()
}

fn send(root: &web_sys::Element, text: &str) {
    let input: web_sys::HtmlInputElement = root
        .query_selector("input.compose")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    input.set_value(text);
    let button: web_sys::HtmlElement = root
        .query_selector("button.send")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    button.click();
}

/// What the status element showed, the observer, and its callback (kept alive).
type StatusWatch = (
    Rc<RefCell<Vec<String>>>,
    web_sys::MutationObserver,
    Closure<dyn FnMut()>,
);

/// Records every text the status element shows, so brief states are not missed.
fn watch_status(root: &web_sys::Element) -> StatusWatch {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (s, r) = (seen.clone(), root.clone());
    let callback = Closure::<dyn FnMut()>::new(move || s.borrow_mut().extend(texts(&r, ".status")));
    let observer = web_sys::MutationObserver::new(callback.as_ref().unchecked_ref()).unwrap();
    let options = web_sys::MutationObserverInit::new();
    options.set_subtree(true);
    options.set_child_list(true);
    options.set_character_data(true);
    options.set_attributes(true);
    observer.observe_with_options(root, &options).unwrap();
    (seen, observer, callback)
}

#[wasm_bindgen_test]
async fn chats_and_rides_out_a_dropped_connection() {
    let key = key("yew-chat");
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let url = ws_url(&format!("/echo?key={key}"));
    let app = yew::Renderer::<App>::with_root_and_props(root.clone(), AppProps { url: url.into() })
        .render();

    wait_for(5000, "Online", || {
        texts(&root, ".status").concat().contains("Online")
    })
    .await;
    send(&root, "hello from yew");
    wait_for(5000, "the echo", || {
        texts(&root, "ul.messages li").contains(&"hello from yew".to_owned())
    })
    .await;

    let (seen, observer, _keep) = watch_status(&root);
    get_json(&format!("/api/drop/{key}")).await;
    wait_for(5000, "the drop to show", || {
        seen.borrow()
            .iter()
            .any(|t| t.contains("Reconnecting") || t.contains("Connecting"))
    })
    .await;
    wait_for(10_000, "Online again", || {
        texts(&root, ".status").concat().contains("Online")
    })
    .await;
    observer.disconnect();
    send(&root, "after the drop");
    wait_for(5000, "the second echo", || {
        texts(&root, "ul.messages li").contains(&"after the drop".to_owned())
    })
    .await;
    assert_eq!(
        texts(&root, "ul.messages li"),
        vec!["hello from yew", "after the drop"]
    );

    // Unmounting closes the socket.
    app.destroy();
    let r = report_until(&key, 3000, "the close on unmount", |r| {
        r.connections.last().is_some_and(|c| c.close.is_some())
    })
    .await;
    let (code, _, by) = r.connections.last().and_then(|c| c.close.clone()).unwrap();
    assert_eq!((code, by.as_str()), (1000, "client"));
}
