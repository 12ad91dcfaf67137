// A TypeScript app using the typings of the package's `resocket/stomp` entry, checked with
// `tsc --strict --noEmit` (e2e/types.test.mjs). The `@ts-expect-error` lines prove the typings
// are precise: each must be a type error.
import init, {
  ResilientWebSocket,
  StompClient,
  type ResocketError,
  type StompAckMode,
  type StompConnectOptions,
  type StompError,
  type StompHeaders,
  type StompMessage,
  type StompSubscription,
  type StompTransaction,
} from "resocket/stomp";

await init();

// The entry has the socket too.
const socket: ResilientWebSocket = new ResilientWebSocket("/live");
socket.close();

const options: StompConnectOptions = {
  login: "guest",
  passcode: "guest",
  host: "/",
  heartbeat: { outgoing: 10_000, incoming: 10_000 },
  headers: { "x-token": "t" },
  reconnect: { base: 500, cap: 8_000 },
  maxRetries: 10,
  connectTimeout: 5_000,
  highWaterMark: 1 << 20,
};
const client: StompClient = await StompClient.connect("wss://broker.example/ws", options);
await StompClient.connect(new URL("wss://broker.example/ws"), { heartbeat: false });
await StompClient.connect((attempt) => `wss://broker.example/ws?token=t${attempt}`);
await StompClient.connect("wss://broker.example/ws", { signal: AbortSignal.timeout(30_000) });
// @ts-expect-error the signal is an AbortSignal, not its controller
void StompClient.connect("wss://x/ws", { signal: new AbortController() });

const connected: boolean = client.connected;
if (client.state === "reconnecting" && connected) throw new Error("unreachable");

// A callback subscription; messages have a text and a binary body, headers, ack/nack.
const sub: StompSubscription = client.subscribe(
  "/queue/orders",
  (message: StompMessage) => {
    const text: string = message.body;
    const bytes: Uint8Array = message.binaryBody;
    const headers: StompHeaders = message.headers;
    const id: string | undefined = headers["message-id"];
    void [text, bytes, id];
    void message.ack();
  },
  { ack: "client-individual", headers: { "prefetch-count": "10" } },
);
const subscriptionId: string = sub.id + sub.destination;
sub.unsubscribe();
sub[Symbol.dispose]();

// Without a callback: for await.
const ack: StompAckMode = "client";
for await (const message of client.subscribe("/queue/jobs", { ack })) {
  await message.nack();
  break;
}

await client.send("/queue/orders", "text");
await client.send("/queue/orders", new Uint8Array([1, 2, 3]), { "content-type": "application/octet-stream" });
await client.send("/queue/orders", new ArrayBuffer(4));
await client.sendWithReceipt("/queue/orders", JSON.stringify({ id: 1 }), { "content-type": "application/json" });

const tx: StompTransaction = await client.begin();
await tx.send("/queue/orders", "in a transaction");
const transactionId: string = tx.id;
await tx.commit();
await (await client.begin()).abort();
await (await client.begin())[Symbol.asyncDispose]();
// @ts-expect-error a transaction ends asynchronously: `await using`, not `using`
(await client.begin())[Symbol.dispose]();

client.addEventListener("connect", (event: Event) => event.type);
client.addEventListener("connect", (event) => {
  const headers: StompHeaders = event.headers;
  return headers["version"];
});
client.addEventListener("reconnecting", (event) => event.attempt + event.delay);
client.addEventListener("close", (event) => event.code);
client.addEventListener("error", (event) => {
  const e: StompError | ResocketError | DOMException | Error = event.error;
  if (e.name === "StompError") console.log((e as StompError).body);
});
const target: EventTarget = client;
void target;
client.reconnect();
client.reconnect(4000, "new token");
// @ts-expect-error the close code is a number
client.reconnect("4000");

try {
  await client.disconnect();
} catch (e) {
  console.log(e);
}
const disconnectAtScopeEnd: () => Promise<void> = client[Symbol.asyncDispose];
void disconnectAtScopeEnd;
// @ts-expect-error a client ends asynchronously: `await using`, not `using`
void client[Symbol.dispose];

// Precision: these are all errors.
// @ts-expect-error the destination is a string
client.subscribe(42, () => {});
// @ts-expect-error no such ack mode
client.subscribe("/queue/x", () => {}, { ack: "sometimes" });
// @ts-expect-error header values are strings
void client.send("/queue/x", "x", { priority: 5 });
// @ts-expect-error a Blob must be read first
void client.send("/queue/x", new Blob(["x"]));
// @ts-expect-error stompjs's option names are not ours
void StompClient.connect("wss://x/ws", { heartbeatIncoming: 1000 });
// @ts-expect-error the broker's prefetch-count bounds a STOMP client's inbox, not inboundLimit
void StompClient.connect("wss://x/ws", { inboundLimit: { bytes: 1024, onFull: "drop" } });
// @ts-expect-error the STOMP client takes no socket heartbeat settings
void StompClient.connect("wss://x/ws", { heartbeat: { interval: 1000 } });
// @ts-expect-error the message body is read-only
client.subscribe("/queue/x", (m) => (m.body = "x"));
// @ts-expect-error the client is made by connect()
new StompClient();
client.addEventListener("reconnecting", (event) => {
  // @ts-expect-error a reconnecting event has no code
  event.code;
});
client.addEventListener("connect", (event) => {
  // @ts-expect-error the CONNECTED headers are read-only
  event.headers = {};
});

void [subscriptionId, transactionId];
