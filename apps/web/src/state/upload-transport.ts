// The fetch the app hands @parley/client, so a file upload can report its progress.
// The client streams and counts a body when given `onProgress`, but Chromium sends a
// streamed request body only over HTTP/2 or QUIC, and the services speak HTTP/1.1; so
// the app uploads the File as it is and watches it here: a request whose body is a
// watched Blob goes out by XMLHttpRequest, whose upload events count the bytes. Every
// other request is the browser's own fetch. The client still builds the request
// (URL, token, headers) and reads the answer.

export interface UploadProgress {
  sent: number;
  total: number;
}

export interface UploadTransport {
  fetch: typeof fetch;
  /** Report the progress of the next request whose body is `blob`. */
  watch(blob: Blob, onProgress: (progress: UploadProgress) => void): void;
}

function headersOf(xhr: XMLHttpRequest): Headers {
  const headers = new Headers();
  for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return headers;
}

function sendWithProgress(
  url: string,
  init: RequestInit,
  body: Blob,
  onProgress: (progress: UploadProgress) => void,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(init.method ?? 'POST', url);
    xhr.responseType = 'blob';
    new Headers(init.headers).forEach((value, name) => xhr.setRequestHeader(name, value));
    xhr.upload.onprogress = (event) =>
      onProgress({ sent: event.loaded, total: event.lengthComputable ? event.total : body.size });
    xhr.onload = () =>
      resolve(
        new Response(xhr.status === 204 ? null : (xhr.response as Blob), {
          status: xhr.status,
          statusText: xhr.statusText,
          headers: headersOf(xhr),
        }),
      );
    // as fetch does: a network failure is a TypeError, an abort an AbortError
    xhr.onerror = () => reject(new TypeError('Network request failed'));
    xhr.onabort = () => reject(new DOMException('The upload was aborted', 'AbortError'));
    init.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

export function createUploadTransport(
  base: typeof fetch = (input, init) => globalThis.fetch(input, init),
): UploadTransport {
  const watched = new WeakMap<Blob, (progress: UploadProgress) => void>();
  return {
    watch(blob, onProgress) {
      watched.set(blob, onProgress);
    },
    fetch(input, init) {
      const body = init?.body;
      const onProgress = body instanceof Blob ? watched.get(body) : undefined;
      if (onProgress === undefined || typeof XMLHttpRequest === 'undefined') {
        return base(input, init);
      }
      watched.delete(body as Blob);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return sendWithProgress(url, init ?? {}, body as Blob, onProgress);
    },
  };
}
