// A free TCP port on 127.0.0.1, for a server that must be told its port before it
// starts (Distribution, a spawned Cairn). The bench uses it too.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}
