// `using` / `await using` with the typings, in a project whose lib has esnext.disposable
// (e2e/tsconfig-using.json); e2e/consumer.ts checks that they compile without it.
import { ResilientWebSocket } from "resocket";
import { StompClient } from "resocket/stomp";
{
  using socket = new ResilientWebSocket("wss://x/ws");
  socket.send("hi");
  await using client = await StompClient.connect("wss://x/ws");
  using sub = client.subscribe("/queue/a", () => {});
  await using tx = await client.begin();
  void sub; void tx;
}
export {};
