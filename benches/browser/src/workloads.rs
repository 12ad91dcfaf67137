//! The workloads, written once over [`Lib`]. Each checks every message it receives (count,
//! order and content) and fails the run on the first wrong one. `benches/browser/www/raw.js`
//! implements the same workloads, message formats and checks with the plain `WebSocket`.

use crate::libs::{Lib, Msg, HEARTBEAT_PING};
use crate::{now_ms, Fail, Measured, Params, Probe};
use futures::{SinkExt, StreamExt};
use std::fmt::Write;

const TEXT_PAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; // 54 bytes
const PING_PAD: &str = "yyyyyyyyyyyyyyyyyyyyyy"; // 22 bytes

/// Message `i` of a text workload: the zero-padded sequence number, then `pad`.
fn text(i: u32, pad: &str) -> String {
    let mut s = String::with_capacity(10 + pad.len());
    let _ = write!(s, "{i:010}");
    s.push_str(pad);
    s
}

fn check_text(i: u32, pad: &str, m: &Msg) -> Result<(), Fail> {
    match m {
        Msg::Text(s)
            if s.len() == 10 + pad.len()
                && s.as_bytes()[..10].iter().all(u8::is_ascii_digit)
                && s[..10].parse::<u32>() == Ok(i)
                && &s[10..] == pad =>
        {
            Ok(())
        }
        Msg::Text(s) => Err(Fail(format!(
            "message {i}: wrong text {:?}",
            &s[..s.len().min(20)]
        ))),
        Msg::Binary(b) => Err(Fail(format!("message {i}: binary ({} bytes)", b.len()))),
        Msg::Gap(n) => Err(Fail(format!("message {i}: {n} dropped"))),
    }
}

/// Message `i` of a binary workload (the test server's `/flood` sends the same): `size`
/// bytes of `i % 251`, the first four replaced by `i` big-endian.
fn binary(i: u32, size: usize) -> Vec<u8> {
    let mut b = vec![(i % 251) as u8; size];
    b[..4].copy_from_slice(&i.to_be_bytes());
    b
}

fn check_binary(i: u32, size: usize, m: &Msg) -> Result<(), Fail> {
    match m {
        Msg::Binary(b)
            if b.len() == size && b[..4] == i.to_be_bytes() && b[size - 1] == (i % 251) as u8 =>
        {
            Ok(())
        }
        Msg::Binary(b) => Err(Fail(format!(
            "message {i}: wrong binary ({} bytes, starts {:?})",
            b.len(),
            &b[..b.len().min(4)]
        ))),
        Msg::Text(s) => Err(Fail(format!(
            "message {i}: text {:?}",
            &s[..s.len().min(20)]
        ))),
        Msg::Gap(n) => Err(Fail(format!("message {i}: {n} dropped"))),
    }
}

async fn next<L: Lib>(rx: &mut L::Rx, i: u32) -> Result<Msg, Fail> {
    match rx.next().await {
        Some(item) => item,
        None => Err(Fail(format!("the stream ended before message {i}"))),
    }
}

/// W1 and W2: send `n` messages without waiting (through the Sink, so a library's
/// backpressure applies) while receiving and checking the echoes.
pub(crate) async fn pipelined<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    let size = p.size;
    let (mut tx, mut rx, ctl) = L::open(&p.url).await?;
    probe.call("start").await?;
    let started = now_ms();
    let send = async {
        for i in 0..p.n {
            let m = match size {
                0 => Msg::Text(text(i, TEXT_PAD)),
                _ => Msg::Binary(binary(i, size)),
            };
            tx.feed(m).await?;
        }
        tx.flush().await
    };
    let receive = async {
        for i in 0..p.n {
            let m = next::<L>(&mut rx, i).await?;
            match size {
                0 => check_text(i, TEXT_PAD, &m)?,
                _ => check_binary(i, size, &m)?,
            }
        }
        Ok(())
    };
    futures::future::try_join(send, receive).await?;
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    L::close(tx, rx, ctl).await?;
    let bytes = f64::from(p.n) * if size == 0 { 64.0 } else { size as f64 };
    Ok(Measured::new(elapsed, p.n).bytes(bytes))
}

/// W3: one 32-byte message at a time, each sent after the previous echo arrived;
/// records each round trip. Sends with [`Lib::send_now`], or with `p.flush` with
/// `SinkExt::send` (which flushes), as most code does.
pub(crate) async fn ping_pong<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    let (mut tx, mut rx, ctl) = L::open(&p.url).await?;
    let mut latencies = Vec::with_capacity(p.n as usize);
    probe.call("start").await?;
    let started = now_ms();
    for i in 0..p.n {
        let t = now_ms();
        let m = Msg::Text(text(i, PING_PAD));
        if p.flush {
            tx.send(m).await?;
        } else {
            L::send_now(&mut tx, m).await?;
        }
        check_text(i, PING_PAD, &next::<L>(&mut rx, i).await?)?;
        latencies.push(now_ms() - t);
    }
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    L::close(tx, rx, ctl).await?;
    Ok(Measured::new(elapsed, p.n).latencies(latencies))
}

/// W6: `n` 32-byte messages one way, each sent with `SinkExt::send` (which flushes: as
/// most code sends) to the test server's `/sink`, which reads and never answers, so
/// nothing inbound wakes the sender. Checked afterwards in the server's record of what it
/// received (count, order and content).
pub(crate) async fn one_way<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    let key = format!("w6-{}", (js_sys::Math::random() * 1e15) as u64);
    let (mut tx, rx, ctl) = L::open(&format!("{}?key={key}", p.url)).await?;
    probe.call("start").await?;
    let started = now_ms();
    for i in 0..p.n {
        tx.send(Msg::Text(text(i, PING_PAD))).await?;
    }
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    L::close(tx, rx, ctl).await?;
    for (i, m) in (0..).zip(received(probe, &key, p.n).await?) {
        check_text(i, PING_PAD, &Msg::Text(m))?;
    }
    Ok(Measured::new(elapsed, p.n))
}

/// W7: a one-way upload: `n` binary messages of `size` bytes fed to the Sink as fast as it
/// takes them, then one flush; `/sink` never answers. Checked in the server's record.
pub(crate) async fn upload<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    let key = format!("w7-{}", (js_sys::Math::random() * 1e15) as u64);
    let (mut tx, rx, ctl) = L::open(&format!("{}?key={key}", p.url)).await?;
    probe.call("start").await?;
    let started = now_ms();
    for i in 0..p.n {
        tx.feed(Msg::Binary(binary(i, p.size))).await?;
    }
    tx.flush().await?;
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    L::close(tx, rx, ctl).await?;
    for (i, m) in (0..).zip(received(probe, &key, p.n).await?) {
        // The server records a binary message as `bin:LEN:` and its first 8 bytes in hex.
        let head: String = binary(i, 8).iter().map(|b| format!("{b:02x}")).collect();
        let want = format!("bin:{}:{head}", p.size);
        if m != want {
            return Err(Fail(format!(
                "message {i}: the server received {m}, not {want}"
            )));
        }
    }
    let bytes = f64::from(p.n) * p.size as f64;
    Ok(Measured::new(elapsed, p.n).bytes(bytes))
}

/// What the server received on the connection keyed `key` (W6, W7): all `n` messages, or
/// why not. A run longer than the heartbeat interval also carries its ping, left out.
async fn received(probe: &Probe, key: &str, n: u32) -> Result<Vec<String>, Fail> {
    let mut received = probe.received(key, n).await?;
    received.retain(|m| m != HEARTBEAT_PING);
    if received.len() != n as usize {
        return Err(Fail(format!(
            "the server received {} of {n} messages",
            received.len()
        )));
    }
    Ok(received)
}

/// W4: `n` times connect, echo one message, close; rotated over `p.urls` (Chromium waits
/// between connections to the same host and port).
pub(crate) async fn cycles<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    if p.urls.is_empty() {
        return Err(Fail("no urls".into()));
    }
    probe.call("start").await?;
    let started = now_ms();
    for i in 0..p.n {
        let url = &p.urls[i as usize % p.urls.len()];
        let (mut tx, mut rx, ctl) = L::open(url).await.map_err(|e| e.at(i))?;
        L::send_now(&mut tx, Msg::Text(text(i, PING_PAD))).await?;
        check_text(i, PING_PAD, &next::<L>(&mut rx, i).await?)?;
        L::close(tx, rx, ctl).await.map_err(|e| e.at(i))?;
    }
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    Ok(Measured::new(elapsed, p.n))
}

/// W5: the server (`/flood/{n}/{size}`) sends `n` binary messages as fast as it can, then
/// `done`; the app checks each but consumes no faster than `p.rate` bytes per second
/// (it sleeps whenever it is ahead of that pace), so the rest waits somewhere.
pub(crate) async fn flood<L: Lib>(p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    let size = p.size;
    let (tx, mut rx, ctl) = L::open(&p.url).await?;
    probe.call("start").await?;
    let started = now_ms();
    let ms_per_message = size as f64 / p.rate * 1000.0;
    // With an inbound limit (`resocket-limit`) dropped messages come as one gap each run.
    let (mut i, mut read) = (0u32, 0u32);
    while i < p.n {
        match next::<L>(&mut rx, i).await? {
            Msg::Gap(dropped) => i = i.saturating_add(dropped as u32),
            m => {
                check_binary(i, size, &m)?;
                i += 1;
                read += 1;
            }
        }
        let due = started + f64::from(read) * ms_per_message;
        let ahead = due - now_ms();
        if ahead >= 1.0 {
            gloo_timers::future::TimeoutFuture::new(ahead as u32).await;
        }
    }
    // The `done` that ends the flood, unless the last gap took it too.
    if i == p.n {
        match next::<L>(&mut rx, p.n).await? {
            Msg::Text(s) if s == "done" => {}
            Msg::Gap(_) => {}
            _ => return Err(Fail("no `done` after the flood".into())),
        }
    }
    let elapsed = now_ms() - started;
    probe.call("end").await?;
    L::close(tx, rx, ctl).await?;
    Ok(Measured::new(elapsed, read).bytes(f64::from(read) * size as f64))
}
