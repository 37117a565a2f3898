// The upload transport: a watched file goes out by XMLHttpRequest (whose upload events
// count bytes), everything else by the given fetch. XMLHttpRequest is a stand-in here:
// what is checked is what the transport asks of it and how its answer becomes a Response.
import { createUploadTransport } from '../src/state/upload-transport';

class FakeXhr {
  static last: FakeXhr | undefined;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  responseType = '';
  status = 0;
  statusText = '';
  response: unknown;
  upload: {
    onprogress?: (e: { loaded: number; total: number; lengthComputable: boolean }) => void;
  } = {};
  onload?: () => void;
  onerror?: () => void;
  onabort?: () => void;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getAllResponseHeaders() {
    return 'content-type: application/json\r\netag: "abc"\r\n';
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
}

describe('upload transport', () => {
  beforeEach(() => {
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = FakeXhr;
  });
  afterEach(() => {
    delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
  });

  test('When a watched file is the body, then it goes by XHR with the headers, progress is reported and the answer is a Response', async () => {
    const base = jest.fn<Promise<Response>, Parameters<typeof fetch>>();
    const transport = createUploadTransport(base);
    const file = new Blob(['x'.repeat(1000)], { type: 'image/png' });
    const progress: number[] = [];
    transport.watch(file, ({ sent }) => progress.push(sent));

    const answer = transport.fetch('http://chat/chat/attachments', {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'image/png' },
      body: file,
    });
    const xhr = FakeXhr.last!;
    expect(xhr).toMatchObject({ method: 'POST', url: 'http://chat/chat/attachments', body: file });
    expect(xhr.headers).toEqual({ authorization: 'Bearer t', 'content-type': 'image/png' });
    xhr.upload.onprogress?.({ loaded: 400, total: 1000, lengthComputable: true });
    xhr.upload.onprogress?.({ loaded: 1000, total: 1000, lengthComputable: true });
    Object.assign(xhr, { status: 201, response: new Blob(['{"ok":true}']) });
    xhr.onload?.();

    const response = await answer;
    expect(progress).toEqual([400, 1000]);
    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBe('"abc"');
    expect(await response.json()).toEqual({ ok: true });
    expect(base).not.toHaveBeenCalled();
  });

  test('When the body is not a watched file (or was watched once already), then the given fetch sends it', async () => {
    const base = jest.fn(
      async (_url: Parameters<typeof fetch>[0], _init?: RequestInit) =>
        new Response(null, { status: 204 }),
    );
    const transport = createUploadTransport(base);
    const file = new Blob(['y']);
    transport.watch(file, () => undefined);
    const first = transport.fetch('http://chat/a', { method: 'POST', body: file });
    FakeXhr.last!.status = 204;
    FakeXhr.last!.onload?.();
    expect((await first).status).toBe(204);

    await transport.fetch('http://chat/b', { method: 'POST', body: file });
    await transport.fetch('http://chat/c', { method: 'POST', body: '{}' });
    expect(base.mock.calls.map(([url]) => url)).toEqual(['http://chat/b', 'http://chat/c']);
  });

  test('When the connection fails, then the promise rejects with a TypeError, as fetch does', async () => {
    const transport = createUploadTransport(jest.fn());
    const file = new Blob(['z']);
    transport.watch(file, () => undefined);
    const answer = transport.fetch('http://chat/a', { method: 'POST', body: file });
    FakeXhr.last!.onerror?.();
    await expect(answer).rejects.toBeInstanceOf(TypeError);
  });
});
