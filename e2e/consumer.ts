// A TypeScript app using the package's typings, checked with `tsc --strict --noEmit` (e2e/types.test.mjs).
// The `@ts-expect-error` lines prove the typings are precise: each must be a type error.
import init, {
  ResilientWebSocket,
  type CloseInfo,
  type DroppedEvent,
  type InboundLimitOptions,
  type MessageData,
  type ReconnectingEvent,
  type ResilientWebSocketOptions,
  type ResilientWebSocketIterator,
  type ResocketError,
  type SocketState,
  type StateChangeEvent,
} from "resocket";

await init();

const options: ResilientWebSocketOptions = {
  binaryType: "arraybuffer",
  reconnect: { base: 500, cap: 10_000, factor: 2, jitter: "full", maxRetries: null, stableAfter: 5_000 },
  heartbeat: { interval: 20_000, timeout: 5_000, ping: "ping", pong: (data) => data === "pong" },
  highWaterMark: 512 * 1024,
  lowWaterMark: 128 * 1024,
  queueCapacity: 256,
  connectTimeout: null,
  closeTimeout: 3_000,
  reconnectIf: (close: CloseInfo) => close.code !== 4001,
};

const socket = new ResilientWebSocket("wss://example.com/live", ["v2.chat"], options);
new ResilientWebSocket(new URL("wss://example.com/"));
new ResilientWebSocket((attempt) => ({ url: `/live?token=t${attempt}`, protocols: "v1" }), null, { maxRetries: 5 });
new ResilientWebSocket(async (attempt) => `/live?token=${await Promise.resolve(attempt)}`);
new ResilientWebSocket(async (_attempt, signal: AbortSignal) => {
  const { token } = await (await fetch("/token", { signal })).json();
  return `/live?token=${token}`;
});

// readyState is a WebSocket readyState; the constants are the literal numbers.
const open: 1 = ResilientWebSocket.OPEN;
if (socket.readyState === open && socket.OPEN === open) {
  socket.send("hello");
}
const state: SocketState = socket.state;
const sizes: number[] = [socket.bufferedAmount, state.length];
const described: string = `${socket.url} ${socket.protocol} ${socket.extensions} ${socket.binaryType}`;

// Every data type WebSocket.send takes.
socket.send(new ArrayBuffer(8));
socket.send(new Uint8Array(8));
socket.send(new DataView(new ArrayBuffer(4)));
socket.send(new Blob(["x"]));
await socket.sendAsync("with backpressure");
await socket.ready();
await socket.opened();
await socket.flush();

// Events: each type gets its own event type.
socket.addEventListener("message", (event) => {
  const data: MessageData = event.data;
  if (typeof data === "string") data.toUpperCase();
  else if (data instanceof ArrayBuffer) data.byteLength;
  else data.size;
});
socket.addEventListener("close", (event) => {
  const info: CloseInfo = { code: event.code, reason: event.reason, wasClean: event.wasClean };
  void info;
});
socket.addEventListener("reconnecting", (event: ReconnectingEvent) => {
  const when: number = event.attempt + event.delay;
  void when;
});
socket.addEventListener("statechange", (event: StateChangeEvent) => {
  if (event.state === "reconnecting" && event.readyState === 0) return;
});
socket.addEventListener("heartbeat", (event) => event.rtt.toFixed(1));
socket.addEventListener("requeued", (event) => event.count);
socket.addEventListener("dropped", (event: DroppedEvent) => event.count.toFixed(0));
socket.addEventListener("error", (event) => {
  const e: ResocketError | DOMException | Error | null = event.error;
  if (e && e.name === "ReconnectExhaustedError") {
    const exhausted = e as ResocketError;
    console.log(exhausted.attempts, exhausted.close.code);
  }
  console.log(event.message);
});
socket.addEventListener("open", { handleEvent: (event) => event.timeStamp }, { once: true });
socket.addEventListener("custom-type", (event: Event) => event.type);
const listener = (event: CloseEvent) => event.code;
socket.addEventListener("close", listener);
socket.removeEventListener("close", listener);

socket.onopen = (event) => event.type;
socket.onmessage = (event) => (typeof event.data === "string" ? event.data : null);
socket.onclose = (event) => event.wasClean;
socket.onerror = (event) => event.error?.message;
socket.onreconnecting = (event) => event.delay;
socket.onstatechange = (event) => event.state;
socket.onmessage = null;

// Usable where an EventTarget is.
const target: EventTarget = socket;
target.dispatchEvent(new Event("custom-type"));

for await (const data of socket) {
  const typed: string | ArrayBuffer | Blob = data;
  if (typed === "stop") break;
}

// A bounded inbox: the iterator counts what was dropped.
const limit: InboundLimitOptions = { bytes: 1 << 20, onFull: "drop" };
const bounded = new ResilientWebSocket("/feed", [], { inboundLimit: limit });
new ResilientWebSocket("/feed", [], { inboundLimit: { bytes: 4096, onFull: "close" } });
new ResilientWebSocket("/feed", [], { inboundLimit: null });
const messages: ResilientWebSocketIterator = bounded[Symbol.asyncIterator]();
for await (const data of messages) {
  const missed: number = messages.dropped;
  if (missed > 0 || data === "stop") break;
}

socket.reconnect();
socket.reconnect(4000, "new token");
const unsent: MessageData[] = socket.takeUnsent();
socket.close();
socket.close(4000, "bye");
// What `using` calls (the typings declare the symbol whatever the lib).
const dispose: () => void = socket[Symbol.dispose];
void dispose;

// Precision: these are all errors.
// @ts-expect-error a url function's Promise brings a URL, not a number
new ResilientWebSocket(async () => 42);
// @ts-expect-error the second argument is an AbortSignal, not a number
new ResilientWebSocket(async (_attempt: number, signal: number) => `/live?s=${signal}`);
// @ts-expect-error numbers are not sendable
socket.send(42);
// @ts-expect-error no such binary type
socket.binaryType = "nodebuffer";
// @ts-expect-error readyState is read-only
socket.readyState = 3;
// @ts-expect-error the close code is a number
socket.close("1000");
// @ts-expect-error so is reconnect's
socket.reconnect("1000");
// @ts-expect-error options come third
new ResilientWebSocket("/x", { heartbeat: true });
// @ts-expect-error unknown option
new ResilientWebSocket("/x", [], { maxReconnectionDelay: 1000 });
// @ts-expect-error jitter is one of three words
new ResilientWebSocket("/x", [], { reconnect: { jitter: "lots" } });
// @ts-expect-error onFull is "close" or "drop"
new ResilientWebSocket("/x", [], { inboundLimit: { bytes: 1024, onFull: "dropOldest" } });
// @ts-expect-error the limit needs its bytes
new ResilientWebSocket("/x", [], { inboundLimit: { onFull: "drop" } });
// @ts-expect-error a limit is an object
new ResilientWebSocket("/x", [], { inboundLimit: 1024 });
// @ts-expect-error dropped is read-only
messages.dropped = 0;
socket.addEventListener("open", (event) => {
  // @ts-expect-error an open event has no attempt
  event.attempt;
});
socket.addEventListener("message", (event) => {
  // @ts-expect-error message data is not any
  event.data.nonexistent;
});
// @ts-expect-error the state is one of five words
const wrong: SocketState = "broken";

void [sizes, described, unsent, wrong];
