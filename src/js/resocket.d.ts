// `Symbol.dispose` and `Symbol.asyncDispose` (for `using` / `await using`), declared here as
// TypeScript's esnext.disposable lib and @types/node declare them, so that these typings
// compile whatever `lib` a project has.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

/** The data of a received message: text as a string; binary as an ArrayBuffer, or a Blob when `binaryType` is "blob". */
export type MessageData = string | ArrayBuffer | Blob;

/** What `send()` takes: the same types as the browser's `WebSocket.send()`. */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;

/** A binary message or heartbeat payload given without a Blob (it would have to be read asynchronously). */
export type BinaryData = ArrayBuffer | ArrayBufferView;

/** Where the socket is in its life. "reconnecting": waiting out the backoff delay before the next attempt. */
export type SocketState = "connecting" | "open" | "reconnecting" | "closing" | "closed";

/** `readyState`: CONNECTING (0, also while waiting to reconnect), OPEN (1), CLOSING (2, from `close()` on), CLOSED (3: closed for good). */
export type ReadyState = 0 | 1 | 2 | 3;

/** How a connection ended, as its `close` event told it. */
export interface CloseInfo {
  /** The close code; 1006 when the connection ended without a closing handshake. */
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** Where to connect on one attempt. */
export interface Target {
  url: string | URL;
  /** Subprotocols for this attempt; the constructor's `protocols` when absent. */
  protocols?: string | string[];
}

/**
 * Called before every connection attempt with its number (0 for the first connection, then
 * 1, 2, ... for reconnections): return the URL, or `{ url, protocols }`, e.g. with a fresh
 * token. Throwing (or returning anything else) ends the socket with that error; from the
 * constructor, it is thrown.
 *
 * It may also return a Promise of one (an `async` function that fetches a token first). The
 * socket is "connecting" meanwhile, and `connectTimeout` counts from the attempt's start.
 * A rejection (what an `async` function throws) fails that attempt only: an `error` event
 * whose `error` is the rejection, then a `close` with 1006 and the reason "the url function
 * failed: " and the rejection's message (just "the url function failed" when it has none),
 * which is retried like a lost connection. A Promise that resolves to something else ends
 * the socket with that `TypeError` (in an `error` event, never thrown from the constructor).
 * `close()`, `reconnect()`, the connect timeout or the socket let go meanwhile give the
 * attempt up: what the Promise brings is ignored, and `signal` aborts (with an `AbortError`
 * `DOMException`), so a `fetch(tokenUrl, { signal })` stops too instead of piling up behind a
 * hanging token server. `signal` belongs to its attempt only (a fetch shared by several
 * attempts stops with the first one given up). It never aborts once resocket has taken the
 * Promise's result (a few microtasks after it settles), nor for a function that answered at
 * once. A Promise that ignores `signal` and never settles keeps two small callbacks until
 * it does.
 */
export type UrlProvider = (
  attempt: number,
  signal: AbortSignal,
) => string | URL | Target | PromiseLike<string | URL | Target>;

/** Exponential backoff with jitter between reconnection attempts. Times in milliseconds. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay. Default 1000. */
  base?: number;
  /** How much the ceiling grows per attempt, at least 1. Default 2. */
  factor?: number;
  /** The largest ceiling. Default 30000. */
  cap?: number;
  /** "full": uniform in [0, ceiling] (default); "equal": in [ceiling/2, ceiling]; "none": the ceiling. */
  jitter?: "full" | "equal" | "none";
  /** Give up after this many consecutive failed reconnection attempts; `null` or `Infinity`: never (default). */
  maxRetries?: number | null;
  /** How long a connection must stay open before the attempt count starts again. Default 10000. */
  stableAfter?: number;
}

/**
 * An application-level heartbeat (browsers cannot send protocol pings): after `interval` ms
 * without any incoming message, `ping` is sent; if nothing at all arrives within `timeout` ms,
 * the connection is taken for dead, closed with 4000 and reconnected. A ping that had to wait
 * behind outgoing data gets more time while bytes keep leaving the browser (also after it
 * left), so a slow upload is not taken for a dead connection. Messages matching `pong` are
 * not delivered. Timer throttling in background tabs does not cause false timeouts.
 */
export interface HeartbeatOptions {
  /** Idle time before a ping, ms. Default 25000. */
  interval?: number;
  /** How long to wait for any message after a ping, ms (more while a ping that waited behind data is still followed by bytes leaving). Default 10000. */
  timeout?: number;
  /** The ping message. Default "ping". */
  ping?: string | BinaryData;
  /**
   * The pong: an exact message, or a test that answers at once. A test that throws or returns
   * a Promise (an `async` function) takes nothing for a pong: the message is delivered, and an
   * `error` event says why. Default "pong".
   */
  pong?: string | BinaryData | ((data: string | ArrayBuffer) => boolean);
}

/**
 * A bound on the incoming messages that wait unread. The browser cannot tell a server to slow
 * down; message listeners run as messages arrive, but a `for await` loop reads at its own pace,
 * and without a limit everything it has not read yet waits in memory.
 *
 * With a limit, messages are taken from the connection only as fast as the slowest `for await`
 * loop reads them (message listeners get them at that pace too, in the same order; `close`,
 * `reconnecting` and other events are not held back). At most `bytes` of messages wait (text
 * counted as UTF-8), plus the one each loop is being handed; a message larger than the limit
 * still gets through when nothing else waits. Beyond it:
 * - "close": the connection is closed with code 4001; `reconnectIf` decides what follows (by
 *   default nothing: the loop gets the messages that were kept, then throws a "ClosedError").
 * - "drop": what arrives is dropped and counted, never silently: a `dropped` event (with
 *   `count`) comes where the messages were, and each loop's iterator counts them in `dropped`.
 *
 * Every iterator counts as a loop, from `socket[Symbol.asyncIterator]()` until it finishes or
 * its `return()` is called (what `break` does): one that is no longer read but was never
 * `return()`ed (e.g. `const { value } = await socket[Symbol.asyncIterator]().next()`) looks
 * like a very slow loop and holds every other loop and the message listeners back until it is
 * garbage-collected, so end it with `return()`. Once the socket is closed for good nothing is held back: the other loops and
 * the listeners get what is left, the loops finish, and `statechange` "closed" fires.
 */
export interface InboundLimitOptions {
  /** How many bytes of unread messages may wait: a whole number of at least 1. */
  bytes: number;
  /** What happens when a message would exceed `bytes`. */
  onFull: "close" | "drop";
}

/** Options of `new ResilientWebSocket(url, protocols, options)`; all optional. Times in milliseconds. */
export interface ResilientWebSocketOptions {
  /** How binary messages are handed over. Default "arraybuffer". */
  binaryType?: "arraybuffer" | "blob";
  /** `false`: never reconnect (the first close ends the socket); `true` (default) or backoff settings: reconnect. */
  reconnect?: boolean | BackoffOptions;
  /** Shorthand for `reconnect: { maxRetries }`, as in reconnecting-websocket. Checked even with `reconnect: false`, where it has no effect. */
  maxRetries?: number | null;
  /**
   * Decides from the close whether to reconnect after the server or the network ended a
   * connection. Default: retry 1001, 1005, 1006, 1011-1015; not 1000, 1002-1003, 1007-1010
   * or application codes 3000-4999. Timeouts are always retried. It must answer at once: if it
   * throws or returns a Promise (an `async` function), the default decides and an `error` event
   * says so.
   */
  reconnectIf?: (close: CloseInfo) => boolean;
  /** `true`: a heartbeat with the defaults; settings; or `false` (default): none. */
  heartbeat?: boolean | HeartbeatOptions;
  /** `sendAsync()` and `ready()` wait while the browser buffers more than this many bytes. Default 1048576. */
  highWaterMark?: number;
  /** ... until it drains to this many. Default 262144, or a quarter of `highWaterMark` if that is lower. */
  lowWaterMark?: number;
  /** How many messages `sendAsync()` lets wait while not open before it waits itself; `send()` never waits. Default 1024. */
  queueCapacity?: number;
  /** Abandon an attempt still connecting after this long; `null`: wait for the browser. Default 10000. */
  connectTimeout?: number | null;
  /** How long `close()` waits for what `send()` accepted to reach the browser, and then again for the closing handshake, before abandoning the connection. Default 5000. */
  closeTimeout?: number;
  /** Bounds what waits for a slow `for await` loop (see `InboundLimitOptions`); `null` (default): no bound. */
  inboundLimit?: InboundLimitOptions | null;
}

/** The error that ended a socket that was not closed on purpose. */
export interface ResocketError extends Error {
  /**
   * "ConnectFailedError": could not connect and reconnection is off; "ClosedError": the
   * connection closed and the policy (or `reconnect: false`) does not reconnect;
   * "ReconnectExhaustedError": `maxRetries` attempts failed.
   */
  readonly name: "ConnectFailedError" | "ClosedError" | "ReconnectExhaustedError";
  /** How the last connection or attempt ended. */
  readonly close: CloseInfo;
  /** Reconnection attempts made (for "ReconnectExhaustedError"; 0 otherwise). */
  readonly attempts: number;
}

/**
 * `error`: a connection failed or was lost (`error` is null: the browser tells no more), the
 * socket ended for good (`error` says why), or a callback of the options failed inside the
 * socket (`message` says what the socket did instead; `error` is what the callback threw, or
 * a TypeError if it answered with a Promise), or the url function's Promise rejected
 * (`error` is what it rejected with; the attempt's `close` follows). In every case, a value
 * thrown that is no object comes as an `Error`: a string with that text (`throw "no token"`),
 * anything else with the event's `message`.
 */
export interface SocketErrorEvent extends ErrorEvent {
  readonly error: ResocketError | DOMException | Error | null;
}

/** `reconnecting`: the connection was lost (or `reconnect()` closed it: delay 0); attempt `attempt` starts in `delay` ms (or when the browser is back online). */
export interface ReconnectingEvent extends Event {
  readonly attempt: number;
  readonly delay: number;
}

/** `statechange`: the socket moved to `state`. */
export interface StateChangeEvent extends Event {
  readonly state: SocketState;
  readonly readyState: ReadyState;
}

/** `heartbeat`: the first message after a ping (normally its pong) arrived `rtt` ms after the ping was handed to the browser. */
export interface HeartbeatEvent extends Event {
  readonly rtt: number;
}

/** `requeued`: after a connection was lost, `count` messages it never transmitted were put back to go first on the next one. */
export interface RequeuedEvent extends Event {
  readonly count: number;
}

/**
 * `dropped`: with `inboundLimit: { onFull: "drop" }`, `count` messages were dropped here: after
 * the `message` events of those before them, before those after them.
 */
export interface DroppedEvent extends Event {
  readonly count: number;
}

/**
 * The iterator of `for await (const data of socket)`: every message from when it was made.
 * Keep it to read `dropped`: `const messages = socket[Symbol.asyncIterator](); for await (const
 * data of messages) { ... messages.dropped ... }`.
 */
export interface ResilientWebSocketIterator extends AsyncIterator<MessageData, undefined, undefined> {
  /**
   * With `inboundLimit: { onFull: "drop" }`: how many messages were dropped since the iterator
   * was made, up to the one it handed out last (or the end). Always 0 otherwise.
   */
  readonly dropped: number;
  /**
   * Stops the iteration (what `break` does): later messages are not kept for it, and `next()`
   * resolves `{ done: true }` from then on, even if the socket had ended with an error not
   * yet thrown. With
   * `inboundLimit`, call it on an iterator you stop reading without `break`: until then it sets
   * the pace of the whole socket (see `InboundLimitOptions`).
   */
  return(): Promise<IteratorReturnResult<undefined>>;
  [Symbol.asyncIterator](): ResilientWebSocketIterator;
}

/** Every event a ResilientWebSocket dispatches, by type. */
export interface ResilientWebSocketEventMap {
  open: Event;
  message: MessageEvent<MessageData>;
  /** Each connection's end, also when a reconnection follows. */
  close: CloseEvent;
  error: SocketErrorEvent;
  reconnecting: ReconnectingEvent;
  statechange: StateChangeEvent;
  heartbeat: HeartbeatEvent;
  requeued: RequeuedEvent;
  dropped: DroppedEvent;
}

/** A listener for event `K`: a function or an object with `handleEvent`. */
export type ResilientWebSocketListener<K extends keyof ResilientWebSocketEventMap> =
  | ((event: ResilientWebSocketEventMap[K]) => void)
  | { handleEvent(event: ResilientWebSocketEventMap[K]): void };

/**
 * A WebSocket that survives the real world: a drop-in for the browser's `WebSocket` (same
 * constructor, `send`, `close`, `readyState`, `bufferedAmount`, events and `on*` handlers)
 * that reconnects with exponential backoff and jitter, detects dead connections with a
 * heartbeat, honours backpressure, and loses no message that never left the browser.
 *
 * - `open` and `close` fire for every connection; `reconnecting` and `statechange` tell
 *   what happens in between. The socket is closed for good only by `close()`, by a close
 *   code the policy does not retry, or after `maxRetries`; then `statechange` says "closed".
 *   From `close()` on, only `statechange` "closing" and "closed" follow: no `open` or
 *   `reconnecting`.
 * - Messages sent while connecting or reconnecting wait and go out in order after the next
 *   open; those a lost connection never transmitted go again, first.
 * - Like a browser WebSocket, it lives until it is closed, whether or not you keep a
 *   reference to it: call `close()` when done.
 *
 * @example
 * const socket = new ResilientWebSocket("wss://example.com/live", [], { heartbeat: true });
 * socket.addEventListener("message", (event) => console.log(event.data));
 * socket.send("hello"); // queued until open
 * for await (const data of socket) console.log(data);
 */
export class ResilientWebSocket implements EventTarget {
  /**
   * Starts connecting at once and returns. Relative and http(s) URLs resolve against the
   * page. Throws a `SyntaxError` DOMException for a bad URL or subprotocol, a `TypeError` or
   * `RangeError` for bad options.
   */
  constructor(url: string | URL | UrlProvider, protocols?: string | string[] | null, options?: ResilientWebSocketOptions);

  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  /** CONNECTING (0) while connecting or waiting to reconnect, OPEN (1), CLOSING (2) from `close()` until closed for good (also while what `send()` accepted still goes out), CLOSED (3) once closed for good. */
  readonly readyState: ReadyState;
  /** The finer state: "connecting", "open", "reconnecting", "closing" or "closed". */
  readonly state: SocketState;
  /** Bytes sent and not yet transmitted: the browser's buffer, what waits in resocket's queue for a connection, and Blobs being read and `sendAsync()` calls waiting for room. */
  readonly bufferedAmount: number;
  /** The resolved URL of the current (or last) attempt. */
  readonly url: string;
  /** The subprotocol the server chose on the last connection ("" if none). */
  readonly protocol: string;
  /** Always "". */
  readonly extensions: string;
  /** How binary messages are handed over; may be changed at any time. */
  binaryType: "arraybuffer" | "blob";

  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent<MessageData>) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: SocketErrorEvent) => void) | null;
  onreconnecting: ((event: ReconnectingEvent) => void) | null;
  onstatechange: ((event: StateChangeEvent) => void) | null;

  /** As `EventTarget`'s; in the listener, `event.target` and `this` are an internal `EventTarget`, not this socket. */
  addEventListener<K extends keyof ResilientWebSocketEventMap>(
    type: K,
    listener: ResilientWebSocketListener<K>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ResilientWebSocketEventMap>(
    type: K,
    listener: ResilientWebSocketListener<K>,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  dispatchEvent(event: Event): boolean;

  /**
   * Sends at once if open, else queues it to go out in order after the next open. Never
   * waits and never drops. Another realm's (an iframe's) buffers and Blobs are taken like
   * this page's. Throws a `TypeError` for other data types (an object that only looks like
   * an ArrayBuffer, a view over a `SharedArrayBuffer`, a detached buffer) and an
   * `InvalidStateError` DOMException once `close()` was called or the socket closed for good.
   */
  send(data: SendData): void;
  /** Sends once the limits allow (`highWaterMark`, `queueCapacity`); resolves when the message was accepted, in order with other sends. `close()` on an open connection accepts those still waiting at once; otherwise they reject. */
  sendAsync(data: SendData): Promise<void>;
  /** Resolves when a message sent now would be accepted within the limits: `await socket.ready(); socket.send(data)`. */
  ready(): Promise<void>;
  /** Resolves once the connection is open (at once if it is); rejects if the socket closed for good first. */
  opened(): Promise<void>;
  /** Resolves once everything sent so far has left the browser. Rejects with an `InvalidStateError` DOMException once the socket closed for good with something never transmitted (even after `takeUnsent()` handed it back). */
  flush(): Promise<void>;
  /**
   * Closes for good. `code`: 1000 (default) or 3000-4999, else an `InvalidAccessError`
   * DOMException; `reason`: at most 123 UTF-8 bytes, else a `SyntaxError` DOMException.
   * `readyState` is CLOSING at once and `send()` throws from then on. Like a browser's
   * WebSocket, an open connection first transmits everything `send()` accepted, waiting
   * `sendAsync()`s and Blobs included, for up to `closeTimeout` (counted once the Blobs
   * given before have been read), then closes (with `closeTimeout` again for the handshake); if that connection is lost meanwhile, it is not
   * replaced (unless `reconnect()` is closing it: then a new connection carries what is queued, and closes). Otherwise the socket ends at once, cancelling any pending reconnection. What
   * was never transmitted comes back from `takeUnsent()`. Calling it again does nothing.
   */
  close(code?: number, reason?: string): void;
  /**
   * Drops the current connection and connects again now, keeping everything queued (like
   * reconnecting-websocket's `reconnect()`, but not after `close()`, and the new connection
   * starts once the old one has closed): for a new token from a `url` function, or a
   * "retry now" button. `code` and `reason` as for `close()`, with its errors. Open: the
   * connection closes with them in a normal closing handshake (what the browser holds still
   * goes out, what it never transmitted is sent again first on the new connection, messages
   * that arrive meanwhile are delivered), then `close` and `reconnecting` (attempt 1, delay
   * 0) fire and a new connection starts at once, even with `reconnect: false` or a
   * `reconnectIf` that would refuse (should that attempt fail, they decide as for any
   * other: with `reconnect: false` the socket ends with a "ConnectFailedError"). Until then `readyState` is still OPEN and `opened()`
   * resolves at once; wait for `reconnecting`. A `close()` meanwhile still sends what
   * `send()` accepted and had not handed over: on a new connection, which it then closes.
   * Connecting: the attempt is made again (no `close` event; the URL function is asked
   * again with the same attempt number). Waiting to
   * reconnect: the attempt starts now. After `close()`, or once closed for good: an
   * `InvalidStateError` DOMException.
   */
  reconnect(code?: number, reason?: string): void;
  /** Once closed for good: the messages sent but never transmitted, in order. Empty before, and after the first call. */
  takeUnsent(): MessageData[];
  /** `using socket = new ResilientWebSocket(url)`: closes it (code 1000) at the end of the scope, then lets the object go. Disposing again does nothing. */
  [Symbol.dispose](): void;
  /**
   * `for await (const data of socket)`: every message from now on; ends when the socket closes
   * for good, throwing once if that end was not asked for (and `return()` did not come
   * first). With `inboundLimit`, the slowest loop sets the pace (see `InboundLimitOptions`); messages dropped on "drop" are counted in
   * the iterator's `dropped`, not thrown.
   */
  [Symbol.asyncIterator](): ResilientWebSocketIterator;
}
