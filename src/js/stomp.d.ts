
/** STOMP headers: names to string values. */
export type StompHeaders = Record<string, string>;

/** A STOMP body: a string (sent as UTF-8) or bytes. */
export type StompBody = string | ArrayBuffer | ArrayBufferView;

/**
 * How the broker learns a message was processed. "auto" (default): delivered counts as done;
 * "client": `ack()` settles the message and every earlier one of the subscription;
 * "client-individual": `ack()` settles that message only.
 */
export type StompAckMode = "auto" | "client" | "client-individual";

/** STOMP heart-beats, in milliseconds (0: none in that direction). */
export interface StompHeartbeatOptions {
  /**
   * The client can send a heart-beat at least this often. Default 10000. Above 2147483647
   * (about 24.8 days, the longest a browser timer waits) it sends one that often anyway.
   */
  outgoing?: number;
  /**
   * The client wants one from the broker at least this often; a connection silent for about
   * twice this long is closed and reopened (from CONNECTED on, the interval the broker agreed
   * to, for that session; each new connection starts with this one again). Default 10000.
   */
  incoming?: number;
}

/**
 * Options of `StompClient.connect(url, options)`; all optional. The socket options are those of
 * `ResilientWebSocket`, but `binaryType`, `heartbeat` (here: STOMP's own), `reconnectIf` (the
 * client reconnects after every close but a refused CONNECT) and `inboundLimit` (see
 * `unreadLimit`).
 */
export interface StompConnectOptions
  extends Pick<
    ResilientWebSocketOptions,
    "reconnect" | "maxRetries" | "highWaterMark" | "lowWaterMark" | "queueCapacity" | "connectTimeout" | "closeTimeout"
  > {
  /** The `login` header. */
  login?: string;
  /** The `passcode` header. */
  passcode?: string;
  /** The `host` header: the virtual host. Default "/". */
  host?: string;
  /** `true` (default: 10000 both ways), `false` (none) or the intervals. */
  heartbeat?: boolean | StompHeartbeatOptions;
  /** More CONNECT headers (not accept-version, host, login, passcode, heart-beat: set above). */
  headers?: StompHeaders;
  /**
   * The most bytes (headers and body) of messages an "auto" ack subscription iterated with
   * `for await` keeps unread; a lone message is always kept. A message beyond it ends the
   * subscription: UNSUBSCRIBE goes to the broker, and the loop gets the unread messages, then
   * throws a `StompError` naming the limit (what the broker sent on meanwhile is lost: in "auto"
   * ack it counts a message as delivered once sent). A whole number of at least 1 (else a
   * `RangeError`); default: no bound. Not for the client ack
   * modes: there RabbitMQ's `prefetch-count` header bounds a subscription without ending it.
   */
  unreadLimit?: number;
  /**
   * Stops `connect()` while it waits: the socket is closed and the promise rejects with
   * `signal.reason` (an `AbortError` DOMException unless given another). No effect once connected:
   * then it is `disconnect()`.
   */
  signal?: AbortSignal;
}

/** Options of `client.subscribe()`. */
export interface StompSubscribeOptions {
  /** Default "auto". */
  ack?: StompAckMode;
  /** More SUBSCRIBE headers, e.g. RabbitMQ's `prefetch-count` (not id, destination, ack). */
  headers?: StompHeaders;
}

/** An error the broker sent (an ERROR frame), or a STOMP exchange that could not complete (e.g. the connection was lost before a receipt). */
export interface StompError extends Error {
  readonly name: "StompError";
  /** The ERROR frame's body ("" if none). */
  readonly body: string;
}

/**
 * `error`: the broker sent an ERROR frame (one event per frame, whether or not subscriptions
 * exist; the client reconnects if the broker closes the connection), the url function's
 * Promise rejected (`error` is what it rejected with; the attempt's `close` follows), or the
 * client ended without `disconnect()` (`error` says why; `state` is then `"closed"`). A value
 * thrown that is no object comes as an `Error` (a string with that text).
 */
export interface StompErrorEvent extends ErrorEvent {
  readonly error: StompError | ResocketError | DOMException | Error;
}

/** `connect`: a STOMP session is up again after the connection was lost (not for the first: `connect()` resolved with it). */
export interface StompConnectEvent extends Event {
  /** The CONNECTED frame's headers (`version`, `heart-beat`, and the broker's own, e.g. `server`, `session`). */
  readonly headers: StompHeaders;
}

/** Every event a StompClient dispatches, by type. */
export interface StompClientEventMap {
  /** A STOMP session is up again after the connection was lost; the subscriptions were sent again. */
  connect: StompConnectEvent;
  /** The connection was lost; attempt `attempt` starts in `delay` ms. */
  reconnecting: ReconnectingEvent;
  /** A connection ended, also when a reconnection follows. */
  close: CloseEvent;
  error: StompErrorEvent;
}

/** A listener for event `K`: a function or an object with `handleEvent`. */
export type StompClientListener<K extends keyof StompClientEventMap> =
  | ((event: StompClientEventMap[K]) => void)
  | { handleEvent(event: StompClientEventMap[K]): void };

/** A message from a subscription. */
export class StompMessage {
  private constructor();
  /** The body as text (invalid UTF-8 replaced by U+FFFD). */
  readonly body: string;
  /** The body's bytes (a new array on every read). */
  readonly binaryBody: Uint8Array;
  /** The headers (`destination`, `message-id`, `subscription`, `ack`, ...); the first of repeated ones. Own properties of a plain object, defined (a setter on `Object.prototype` cannot swallow one; a header named `__proto__` is an own property). */
  readonly headers: StompHeaders;
  /**
   * Acknowledges the message (ack "client": with every earlier one; "client-individual": this
   * one); resolves once the ACK was handed to the socket. Rejects with an `InvalidStateError`
   * DOMException for messages of an "auto" subscription, and with a `StompError` after the
   * connection was lost (the broker redelivers the message; once the client has ended, with the
   * error that ended it, as its other operations do). It takes no argument: headers
   * given (other clients take `{ transaction }`) reject with a `TypeError`; to ack within a
   * transaction, use `tx.ack(message)`.
   */
  ack(): Promise<void>;
  /** Tells the broker the message was not processed; it delivers it again. Takes no argument, like `ack()`. */
  nack(): Promise<void>;
}

/**
 * A subscription. Without a callback it is an async iterable of its messages (kept from
 * `subscribe()` on); `break` out of the loop unsubscribes.
 */
export class StompSubscription implements AsyncIterable<StompMessage> {
  private constructor();
  /** The `id` header (the `subscription` header of its messages). */
  readonly id: string;
  readonly destination: string;
  /** Sends UNSUBSCRIBE and ends the subscription (`for await` finishes, the callback is released). Again: nothing. */
  unsubscribe(): void;
  /** `using sub = client.subscribe(...)`: unsubscribes at the end of the scope. */
  [Symbol.dispose](): void;
  /**
   * The messages until the subscription or the client ends; throws once if the client ended
   * without `disconnect()`, if the broker refused the subscription (its ERROR), or if
   * `unreadLimit` ended it (not after `return()` or `break`). An `InvalidStateError` DOMException if the subscription has a callback.
   */
  [Symbol.asyncIterator](): AsyncIterator<StompMessage, undefined, undefined>;
}

/** A transaction from `client.begin()`: what is sent or acknowledged through it takes effect on `commit()`. */
export class StompTransaction {
  private constructor();
  /** The `transaction` header's value. */
  readonly id: string;
  /** Sends within the transaction; the broker delivers it on commit. */
  send(destination: string, body?: StompBody, headers?: StompHeaders): Promise<void>;
  /**
   * Acknowledges `message` within the transaction. Rejects with a `StompError` if the
   * connection was lost since `begin()` (the broker aborted the transaction; the message comes
   * again in the next session), with an `InvalidStateError` DOMException for a message of
   * another client, and with a `TypeError` for anything that is not a `StompMessage`.
   */
  ack(message: StompMessage): Promise<void>;
  /** Negatively acknowledges `message` within the transaction; rejects as `ack` does. */
  nack(message: StompMessage): Promise<void>;
  /**
   * Commits once the sends and acks started before went out; resolves with the broker's receipt.
   * Rejects with a `StompError` if the connection was lost since `begin()` (the broker aborted it).
   * The transaction is over from the call on: what is called on it after, in the same tick too,
   * rejects with an `InvalidStateError` DOMException.
   */
  commit(): Promise<void>;
  /** Aborts (after the sends and acks started before); resolves with the broker's receipt. */
  abort(): Promise<void>;
  /** `await using tx = await client.begin()`: aborts the transaction at the end of the scope unless it was committed or aborted. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A STOMP 1.2 client (RabbitMQ Web STOMP, ActiveMQ, Artemis, Spring) over a `ResilientWebSocket`:
 * after a lost connection it reconnects with backoff, sends CONNECT again and re-subscribes every
 * subscription; frames wait for a session instead of failing. Messages a lost connection never
 * acknowledged are redelivered by the broker; open transactions are aborted by it.
 *
 * Like a WebSocket, it lives until `disconnect()` (or until its connection ends for good),
 * whether or not you keep a reference to it.
 *
 * @example
 * const client = await StompClient.connect("wss://broker.example/ws", { login: "guest", passcode: "guest" });
 * client.subscribe("/queue/orders", (message) => console.log(message.body));
 * await client.sendWithReceipt("/queue/orders", JSON.stringify({ id: 1 }), { "content-type": "application/json" });
 * await client.disconnect();
 */
export class StompClient implements EventTarget {
  private constructor();
  /**
   * Connects and resolves once the broker answered CONNECTED. Rejects with a `StompError` if it
   * answered ERROR (bad credentials or virtual host: no reconnection then), or with the error
   * that ended the socket first (with the default `reconnect`, an unreachable broker is retried
   * forever: set `maxRetries` to give up). Bad arguments reject with a `TypeError`, `RangeError`
   * or `SyntaxError` DOMException naming them. A URL function gets "v12.stomp" as the default
   * subprotocol.
   */
  static connect(url: string | URL | UrlProvider, options?: StompConnectOptions): Promise<StompClient>;

  /**
   * Whether a STOMP session is up right now. `false` from `reconnect()` on, though `state`
   * stays "open" until the old connection has closed.
   */
  readonly connected: boolean;
  /** The socket's state. */
  readonly state: SocketState;

  /**
   * Subscribes; `callback` gets every message (an exception in it is reported like one in an
   * event listener). Sent at once if a session is up, else with the next, and again after every
   * reconnection. Throws a `TypeError` for a bad destination, callback or options.
   */
  subscribe(destination: string, callback: (message: StompMessage) => void, options?: StompSubscribeOptions): StompSubscription;
  /** Subscribes without a callback: iterate the subscription with `for await`. */
  subscribe(destination: string, options?: StompSubscribeOptions): StompSubscription;
  /**
   * Sends `body` to `destination`; resolves once the frame was handed to the socket (after
   * waiting for a session and for backpressure), not when the broker got it. Sends go out in
   * the order they were made. A `transaction` header is refused (a `TypeError`): send through
   * `begin()`'s transaction, which keeps the frame to the session the transaction lives in.
   */
  send(destination: string, body?: StompBody, headers?: StompHeaders): Promise<void>;
  /**
   * Like `send()`, but resolves when the broker's RECEIPT came; rejects with a `StompError` on
   * ERROR or if the connection was lost first. An ERROR rejects the send it names at once, and
   * the others it may have answered once that is known: when the connection ends, or, if the
   * broker keeps the session, when a later frame's RECEIPT shows it went past them and the
   * send's own RECEIPT has not come 2 s after that (RabbitMQ answers a send only once it has
   * confirmed the message, so later RECEIPTs can come first). A send that
   * never left the browser before the connection was lost goes again in the next session, and
   * its RECEIPT settles this then.
   */
  sendWithReceipt(destination: string, body?: StompBody, headers?: StompHeaders): Promise<void>;
  /** Begins a transaction in the current session. */
  begin(): Promise<StompTransaction>;
  /**
   * With a session up, ends gracefully once the operations started before went out: DISCONNECT
   * with a receipt, then the socket closes with 1000 (a receipt that does not come within
   * `closeTimeout` is waited for no longer: the socket closes, and it rejects with a `StompError`;
   * so do operations started before it that have not finished within `closeTimeout`). With the connection down (or CONNECTED not
   * yet come), ends at once: the socket closes for good, and operations still waiting for a session
   * reject. Either way, sends already handed over that never left the browser (the connection was
   * down, or lost before the DISCONNECT's receipt) make it reject with a `StompError` that counts
   * them. From the call on, the connection's end is the client's end:
   * if it is lost while the operations before are still running (a receipt waiting), no
   * reconnection follows, and it settles. Subscriptions end and their callbacks are released; later
   * calls, in the same tick too, reject with an `InvalidStateError` DOMException. Rejects if the broker could not
   * confirm that everything before was processed (the client is disconnected either way).
   * Again: resolves at once.
   */
  disconnect(): Promise<void>;
  /**
   * Drops the connection and connects again now: a new session (`connect` fires for it) with
   * every live subscription subscribed again, e.g. with a new token from a `url` function.
   * `code` and `reason` as for a socket's `close()`, with its errors; the socket's
   * `reconnect()` underneath (see there). The session ends at once: a `disconnect()` from
   * then on until the new session is up closes the socket without a `DISCONNECT`, and no
   * new connection follows. After
   * `disconnect()`, or once the client has ended: an `InvalidStateError` DOMException.
   */
  reconnect(code?: number, reason?: string): void;
  /** `await using client = await StompClient.connect(...)`: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;

  addEventListener<K extends keyof StompClientEventMap>(
    type: K,
    listener: StompClientListener<K>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof StompClientEventMap>(
    type: K,
    listener: StompClientListener<K>,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  dispatchEvent(event: Event): boolean;
}
