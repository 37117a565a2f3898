import { Agent, request as httpRequest } from 'node:http';
import express from 'express';
import { startHttpServer } from '@parley/server-kit';

function get(
  url: string,
  agent?: Agent,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, agent ? { agent } : {}, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startHttpServer', () => {
  it('When started on port 0, then it listens on a real port and answers', async () => {
    const app = express().get('/ping', (_req, res) => void res.send('pong'));
    const running = await startHttpServer(app, { port: 0, host: '127.0.0.1' });

    const res = await get(`${running.url}/ping`);

    expect(running.port).toBeGreaterThan(0);
    expect(res).toMatchObject({ status: 200, body: 'pong' });
    await running.close();
  });

  it('When closed with an idle keep-alive connection and an in-flight request, then it waits for the request and stops', async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
    const app = express()
      .get('/fast', (_req, res) => void res.send('fast'))
      .get('/slow', (_req, res) => {
        release = () => void res.send('slow done');
        arrived();
      });
    const running = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
    const agent = new Agent({ keepAlive: true });
    await get(`${running.url}/fast`, agent); // leaves an idle keep-alive socket
    const slow = get(`${running.url}/slow`);
    await slowArrived;

    let closed = false;
    const closing = running.close().then(() => {
      closed = true;
    });
    // the server must still be waiting: close() resolves only after the response below
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(running.server.listening).toBe(false);
    release();

    const res = await slow;
    await closing;
    expect(res).toMatchObject({ status: 200, body: 'slow done', connection: 'close' });
    expect(closed).toBe(true);
    await expect(get(`${running.url}/fast`)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('When close is called twice, then both calls resolve', async () => {
    const running = await startHttpServer(express(), { port: 0, host: '127.0.0.1' });

    await expect(Promise.all([running.close(), running.close()])).resolves.toEqual([
      undefined,
      undefined,
    ]);
    await expect(running.close()).resolves.toBeUndefined();
  });
});
