//! How long the STOMP decoder takes for one large frame without `content-length` that
//! arrives in many pieces (a broker may split a frame over WebSocket messages as it likes).
//! Prints the figure; runs on the host:
//!
//! ```text
//! cargo run --release --example stomp_decode --features stomp
//! ```

use resocket::stomp::Decoder;
use std::time::Instant;

fn main() {
    for (body, piece) in [(1 << 20, 4096), (8 << 20, 4096), (8 << 20, 512)] {
        let mut frame = b"MESSAGE\nsubscription:0\nmessage-id:1\n\n".to_vec();
        frame.resize(frame.len() + body, b'x');
        frame.push(0);
        let started = Instant::now();
        let mut decoder = Decoder::new();
        let mut frames = 0;
        for chunk in frame.chunks(piece) {
            decoder.push(chunk);
            while let Some(decoded) = decoder.next_frame() {
                assert_eq!(decoded.expect("a valid frame").body.len(), body);
                frames += 1;
            }
        }
        assert_eq!(frames, 1);
        println!(
            "{} KiB body in {piece}-byte pieces: {:.1} ms",
            body >> 10,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}
