// A port nothing listens on at the moment of asking, for a test that needs an address
// where a connection is refused. Never use it to start a server: another process can
// take the port before the server binds it. Servers bind port 0 and report the port
// they got (service-process.ts learns it from the process).
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
