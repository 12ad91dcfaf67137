//! The chat page in a real browser against the test server: it connects, echoes, survives
//! a dropped connection, and closes its socket when unmounted.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use leptos_chat::App;
use resocket_test_support::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Per connection the server saw for `key`: what it received, and (code, by) once closed.
async fn connections(key: &str) -> Vec<(Vec<String>, Option<(u16, String)>)> {
    report(key)
        .await
        .connections
        .into_iter()
        .map(|c| (c.received, c.close.map(|(code, _, by)| (code, by))))
        .collect()
}

/// The app mounted in a fresh `<div>` of its own; unmounts and removes the div on drop.
struct Mounted {
    root: Element,
    handle: Option<Box<dyn std::any::Any>>,
}

impl Mounted {
    fn new(url: String) -> Mounted {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .expect("a document");
        let root = document.create_element("div").expect("a div");
        document
            .body()
            .expect("a body")
            .append_child(&root)
            .expect("append");
        let parent: HtmlElement = root.clone().unchecked_into();
        let handle = leptos::mount::mount_to(parent, move || view! { <App url=url /> });
        Mounted {
            root,
            handle: Some(Box::new(handle)),
        }
    }

    fn unmount(&mut self) {
        self.handle.take();
    }

    fn find(&self, selector: &str) -> Element {
        self.root
            .query_selector(selector)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no {selector} in the app"))
    }

    fn state(&self) -> String {
        self.find(".status")
            .get_attribute("data-state")
            .unwrap_or_default()
    }

    fn status_text(&self) -> String {
        self.find(".status").text_content().unwrap_or_default()
    }

    fn messages(&self) -> Vec<String> {
        let items = self
            .root
            .query_selector_all("ul.messages li")
            .expect("a selector");
        (0..items.length())
            .filter_map(|i| items.item(i))
            .map(|li| li.text_content().unwrap_or_default())
            .collect()
    }

    /// Types `text` into the box as a user would: the value, then an `input` event.
    fn type_text(&self, text: &str) {
        let input: HtmlInputElement = self.find("input.compose").unchecked_into();
        input.set_value(text);
        let event = web_sys::Event::new("input").expect("an event");
        input.dispatch_event(&event).expect("dispatch");
    }

    /// Types `text` and clicks Send once the button is enabled.
    async fn send_by_click(&self, text: &str) {
        self.type_text(text);
        let button: HtmlButtonElement = self.find("button.send").unchecked_into();
        wait_for(2_000, "Send to be enabled", || !button.disabled()).await;
        button.click();
    }

    /// Types `text` and presses Enter in the box.
    fn send_by_enter(&self, text: &str) {
        self.type_text(text);
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_bubbles(true);
        init.set_cancelable(true);
        let enter = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init)
            .expect("a keydown");
        self.find("input.compose")
            .dispatch_event(&enter)
            .expect("dispatch");
    }

    async fn wait_online(&self, ms: u32) {
        wait_for(ms, "the status to say Online", || {
            self.state() == "open" && self.status_text().contains("Online")
        })
        .await;
    }

    async fn wait_message(&self, text: &str) {
        wait_for(5_000, &format!("the echo of {text:?}"), || {
            self.messages().iter().any(|m| m == text)
        })
        .await;
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.unmount();
        self.root.remove();
    }
}

/// Every value the `.status` element's `data-state` takes, in order, however briefly:
/// a MutationObserver sees each change even when the page never paints it.
struct StateLog {
    seen: Rc<RefCell<Vec<String>>>,
    observer: web_sys::MutationObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

impl StateLog {
    fn watch(status: &Element) -> StateLog {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |records: js_sys::Array| {
            for record in records.iter() {
                let record: web_sys::MutationRecord = record.unchecked_into();
                log.borrow_mut()
                    .push(record.old_value().unwrap_or_default());
            }
        });
        let observer = web_sys::MutationObserver::new(callback.as_ref().unchecked_ref())
            .expect("a MutationObserver");
        let options = web_sys::MutationObserverInit::new();
        options.set_attributes(true);
        options.set_attribute_old_value(true);
        options.set_attribute_filter(&js_sys::Array::of1(&JsValue::from_str("data-state")));
        observer
            .observe_with_options(status, &options)
            .expect("observe");
        StateLog {
            seen,
            observer,
            _callback: callback,
        }
    }

    /// The states left so far, oldest first (each change records the state it replaced).
    fn left(&self) -> Vec<String> {
        self.seen.borrow().clone()
    }
}

impl Drop for StateLog {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

#[wasm_bindgen_test]
async fn chat_echoes_and_survives_a_dropped_connection() {
    let key = key("leptos-chat");
    let app = Mounted::new(format!("ws://127.0.0.1:{}/echo?key={key}", port()));
    assert!(
        ["connecting", "open"].contains(&app.state().as_str()),
        "starts connecting, not {:?}",
        app.state()
    );
    app.wait_online(10_000).await;

    app.send_by_click("hello before the drop").await;
    app.wait_message("hello before the drop").await;
    let input: HtmlInputElement = app.find("input.compose").unchecked_into();
    assert_eq!(input.value(), "", "the box is cleared after sending");

    let log = StateLog::watch(&app.find(".status"));
    get_json(&format!("/api/drop/{key}")).await;
    wait_for(10_000, "the status to leave Open", || {
        !log.left().is_empty()
    })
    .await;
    app.wait_online(10_000).await;
    let left = log.left();
    assert_eq!(left.first().map(String::as_str), Some("open"), "{left:?}");
    // Reconnecting (for the backoff delay), then connecting; a delay drawn near 0 may
    // skip straight to connecting.
    assert!(
        left.iter()
            .skip(1)
            .all(|s| s == "reconnecting" || s == "connecting")
            && left.len() >= 2,
        "went from open through reconnecting/connecting back to open: {left:?}"
    );
    drop(log);

    app.send_by_click("hello after the drop").await;
    app.wait_message("hello after the drop").await;
    assert_eq!(
        app.messages(),
        ["hello before the drop", "hello after the drop"],
        "each echo listed once, in order"
    );

    let conns = connections(&key).await;
    assert_eq!(conns.len(), 2, "one connection before the drop, one after");
    assert_eq!(conns[0].0, ["hello before the drop"]);
    assert_eq!(conns[1].0, ["hello after the drop"]);
}

#[wasm_bindgen_test]
async fn a_burst_sent_with_enter_is_echoed_in_order() {
    let key = key("leptos-chat-burst");
    let app = Mounted::new(format!("ws://127.0.0.1:{}/echo?key={key}", port()));
    // Sent with Enter as fast as the page takes them, the first ones while still
    // connecting: they wait in the queue and go out in order.
    let sent: Vec<String> = (0..50).map(|i| format!("burst {i}")).collect();
    for text in &sent {
        app.send_by_enter(text);
    }
    app.wait_online(10_000).await;
    wait_for(10_000, "all 50 echoes", || app.messages().len() >= 50).await;
    sleep(100).await;
    assert_eq!(app.messages(), sent, "every echo, once, in order");
    let input: HtmlInputElement = app.find("input.compose").unchecked_into();
    assert_eq!(input.value(), "", "the box is cleared after sending");
}

/// `(seconds, attempt)` from "Reconnecting in 1.2 s (attempt 3)".
fn countdown(status: &str) -> Option<(f64, u32)> {
    let rest = status.strip_prefix("Reconnecting in ")?;
    let (secs, rest) = rest.split_once(" s (attempt ")?;
    Some((secs.parse().ok()?, rest.strip_suffix(')')?.parse().ok()?))
}

#[wasm_bindgen_test]
async fn the_reconnect_countdown_ticks() {
    // Every handshake is refused, so the page keeps counting down to the next attempt.
    let key = key("leptos-chat-countdown");
    let app = Mounted::new(format!("ws://127.0.0.1:{}/reject/1000/{key}", port()));
    // The delays are random under a growing ceiling: wait for one long enough to watch.
    wait_for(30_000, "a countdown from at least 0.8 s", || {
        countdown(&app.status_text()).is_some_and(|(secs, _)| secs >= 0.8)
    })
    .await;
    assert_eq!(app.state(), "reconnecting");
    let (first, attempt) = countdown(&app.status_text()).expect("a countdown");
    assert!(attempt >= 1);
    sleep(400).await;
    let (later, same_attempt) = countdown(&app.status_text()).expect("still counting down");
    assert_eq!(same_attempt, attempt, "the same attempt is still pending");
    let elapsed = first - later;
    assert!(
        (0.2..=0.6).contains(&elapsed),
        "the countdown went down by about 0.4 s, not {elapsed:.1} s ({first} → {later})"
    );
}

#[wasm_bindgen_test]
async fn a_final_close_shows_the_error_and_disables_sending() {
    // The server closes with 4001 at once; application codes are not retried.
    let app = Mounted::new(format!("ws://127.0.0.1:{}/close/4001/bye", port()));
    wait_for(10_000, "the status to say Closed", || {
        app.state() == "closed" && app.status_text().contains("Closed")
    })
    .await;
    let error = app.find(".error").text_content().unwrap_or_default();
    assert!(
        error.contains("4001"),
        "the error names the close: {error:?}"
    );
    let input: HtmlInputElement = app.find("input.compose").unchecked_into();
    let button: HtmlButtonElement = app.find("button.send").unchecked_into();
    assert!(input.disabled() && button.disabled(), "nothing to send to");
}

#[wasm_bindgen_test]
async fn unmounting_closes_the_connection() {
    let key = key("leptos-chat-unmount");
    let mut app = Mounted::new(format!("ws://127.0.0.1:{}/echo?key={key}", port()));
    app.wait_online(10_000).await;
    app.unmount();
    assert!(
        app.root.query_selector(".status").ok().flatten().is_none(),
        "the view is gone"
    );

    let start = js_sys::Date::now();
    loop {
        let conns = connections(&key).await;
        if let [(_, Some((code, by)))] = conns.as_slice() {
            assert_eq!(
                (*code, by.as_str()),
                (1000, "client"),
                "a normal close by the client"
            );
            break;
        }
        assert!(
            js_sys::Date::now() - start < 5_000.0,
            "the server never saw the client close: {conns:?}"
        );
        sleep(20).await;
    }
    // Nothing reconnects afterwards.
    sleep(1_500).await;
    assert_eq!(
        connections(&key).await.len(),
        1,
        "no new connection after unmount"
    );
}
