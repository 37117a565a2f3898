// Uploading (with progress) and downloading attachments through the client, against a
// real HTTP server on port 0.
import { randomBytes } from 'node:crypto';
import { ParleyApiError } from '../src';
import { FakeParley, json, loggedInClient, problem } from './support/fake-parley';

describe('ParleyClient attachments', () => {
  let server: FakeParley;
  beforeEach(async () => {
    server = await new FakeParley().start();
  });
  afterEach(() => server.stop());

  it('When a file is uploaded with a progress callback, then the raw bytes, type and encoded name arrive and progress reaches the size', async () => {
    const file = randomBytes(300_000);
    let seen:
      | { body: Buffer; type: string | undefined; name: string; auth: string | undefined }
      | undefined;
    server.routes.set('POST /chat/attachments', (req, res) => {
      seen = {
        body: req.body as Buffer,
        type: req.headers['content-type'],
        name: req.headers['x-file-name'] as string,
        auth: req.headers.authorization,
      };
      json(res, 201, {
        attachment: {
          id: 'a1',
          name: 'ünï.bin',
          contentType: 'application/x-test',
          size: file.length,
          sha256: 'a'.repeat(64),
        },
      });
    });
    const client = await loggedInClient(server);
    const progress: number[] = [];

    const attachment = await client.uploadAttachment(file, {
      name: 'ünï.bin',
      contentType: 'application/x-test',
      onProgress: (p) => progress.push(p.sent),
    });

    expect(attachment.id).toBe('a1');
    expect(Buffer.compare(seen?.body ?? Buffer.alloc(0), file)).toBe(0);
    expect(seen).toMatchObject({
      type: 'application/x-test',
      name: encodeURIComponent('ünï.bin'),
      auth: 'Bearer access-1',
    });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(file.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('When a download asks for a range, then the Range header is sent and the bytes come back; a 404 throws its code', async () => {
    let range: string | undefined;
    server.routes.set('GET /chat/attachments/a1', (req, res) => {
      range = req.headers.range;
      res.writeHead(206, { 'content-type': 'text/plain' }).end('ell');
    });
    server.routes.set('GET /chat/attachments/gone', (_req, res) =>
      problem(res, 404, 'attachment_not_found', 'No such attachment'),
    );
    const client = await loggedInClient(server);

    const res = await client.downloadAttachment('a1', { range: { start: 1, end: 3 } });
    const missing = await client.downloadAttachment('gone').catch((err: unknown) => err);

    expect([res.status, await res.text(), range]).toEqual([206, 'ell', 'bytes=1-3']);
    expect(missing).toBeInstanceOf(ParleyApiError);
    expect((missing as ParleyApiError).code).toBe('attachment_not_found');
  });
});
