// The fault tests trust these links to fail exactly as asked, so each operation is
// checked against a real TCP echo server through a real toxiproxy-dev.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { startToxiproxy, type ProxyLink, type ToxiproxyServer } from '@parley/testing';

let toxiproxy: ToxiproxyServer;
let echo: net.Server;
let link: ProxyLink;

/** Connects through the link, writes `text` and resolves with the echo (or the failure). */
function roundTrip(text: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const [host = '', port = ''] = link.listen.split(':');
    const socket = net.connect({ host, port: Number(port) });
    let received = '';
    const done = (result: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`timeout:${received}`), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received === text) done(received);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(`error:${err.code ?? err.message}`));
    socket.on('close', () => done(`closed:${received}`));
    socket.write(text);
  });
}

beforeAll(async () => {
  echo = net.createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  toxiproxy = await startToxiproxy();
  link = await toxiproxy.client.createProxy({
    name: 'echo',
    upstream: `127.0.0.1:${(echo.address() as AddressInfo).port}`,
  });
}, 180_000);

afterAll(async () => {
  await toxiproxy?.stop();
  echo?.close();
});

describe('toxiproxy links', () => {
  it('When the link is healthy, then bytes pass both ways', async () => {
    await expect(roundTrip('hello')).resolves.toBe('hello');
  });

  it('When the link is cut, then open connections drop and new ones are refused until restored on the same port', async () => {
    const [host = '', port = ''] = link.listen.split(':');
    const open = net.connect({ host, port: Number(port) });
    await once(open, 'connect');
    const closed = once(open, 'close');
    open.on('error', () => undefined);

    await link.cut();
    await closed;
    await expect(roundTrip('x')).resolves.toBe('error:ECONNREFUSED');

    await link.restore();
    await expect(roundTrip('back')).resolves.toBe('back');
  });

  it('When the link is stalled, then nothing gets through until cleared, and then the held bytes arrive on the same connection', async () => {
    await link.stall();
    const [host = '', port = ''] = link.listen.split(':');
    const socket = net.connect({ host, port: Number(port) });
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received).toBe('');
    await link.clearToxics();
    const deadline = Date.now() + 2_000;
    while (received !== 'held' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(received).toBe('held');
    socket.destroy();
  });

  it('When latency is added, then a round trip takes at least twice that long', async () => {
    await link.latency(150);
    const started = Date.now();
    await expect(roundTrip('slow', 3_000)).resolves.toBe('slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await link.clearToxics();
  });
});
