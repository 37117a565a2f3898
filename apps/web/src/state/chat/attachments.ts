// Attachments (§11): each file is uploaded as soon as it is chosen (the composer shows
// its progress) and sent by id with the message; a received one is fetched with the
// token once and kept as a blob: URL while logged in.
import type { Attachment } from '@parley/contracts';
import { signal } from '@preact/signals';
import { errorText } from '../error-text';
import type { MessageEvents } from './message-events';
import type { ChatState } from './shared-state';
import type { ChatTyping } from './typing';

/** A file chosen in a composer: uploading, uploaded (ready to send), or failed. */
export interface UploadItem {
  localId: string;
  name: string;
  size: number;
  sent: number;
  state: 'uploading' | 'done' | 'failed';
  error?: string;
  attachment?: Attachment;
}

export type ChatAttachments = ReturnType<typeof createChatAttachments>;

export function createChatAttachments(state: ChatState, typist: ChatTyping, events: MessageEvents) {
  const { deps, client, conversationsById, drafts, showNotice } = state;
  const { stopTyping } = typist;
  const { onMessage } = events;
  /** Files chosen in each composer (keyed by conversation id, or thread root id). */
  const uploads = signal<Readonly<Record<string, readonly UploadItem[]>>>({});

  function updateUploads(key: string, change: (list: readonly UploadItem[]) => UploadItem[]): void {
    uploads.value = { ...uploads.value, [key]: change(uploads.value[key] ?? []) };
  }

  function patchUpload(key: string, localId: string, patch: Partial<UploadItem>): void {
    updateUploads(key, (list) => list.map((u) => (u.localId === localId ? { ...u, ...patch } : u)));
  }

  /** Starts uploading each file at once; the composer shows their progress. */
  function attachFiles(key: string, files: readonly File[]): void {
    for (const file of files) {
      const localId = globalThis.crypto.randomUUID();
      updateUploads(key, (list) => [
        ...list,
        { localId, name: file.name, size: file.size, sent: 0, state: 'uploading' },
      ]);
      deps.uploads?.watch(file, ({ sent }) => patchUpload(key, localId, { sent }));
      client
        .uploadAttachment(file, {
          name: file.name || 'file',
          contentType: file.type || 'application/octet-stream',
        })
        .then(
          (attachment) => patchUpload(key, localId, { state: 'done', sent: file.size, attachment }),
          (error: unknown) =>
            patchUpload(key, localId, { state: 'failed', error: errorText(error) }),
        );
    }
  }

  function dropUpload(key: string, localId: string): void {
    updateUploads(key, (list) => list.filter((u) => u.localId !== localId));
  }

  /**
   * Sends the uploaded files of a composer with its text, over REST (`attachmentIds`
   * are a `POST /chat/send` field); the files stay listed when the send fails.
   */
  async function sendFiles(
    id: string,
    key: string,
    text: string,
    parentId?: string,
  ): Promise<boolean> {
    const ready = (uploads.value[key] ?? []).filter((u) => u.attachment !== undefined);
    if (ready.length === 0) return false;
    const draft = drafts.value[id];
    const target =
      conversationsById.value[id] === undefined && draft !== undefined
        ? { to: draft.partner.username }
        : { conversationId: id };
    const body = text.trim();
    try {
      const message = await client.send({
        ...target,
        ...(body === '' ? {} : { text: body }),
        attachmentIds: ready.map((u) => u.attachment!.id),
        clientMsgId: globalThis.crypto.randomUUID(),
        ...(parentId === undefined ? {} : { parentId }),
      });
      updateUploads(key, (list) => list.filter((u) => !ready.includes(u)));
      stopTyping(id);
      onMessage(message, false);
      return true;
    } catch (error) {
      showNotice(error, 'Could not send the files');
      return false;
    }
  }

  /** An attachment's bytes as a blob: URL (fetched once with the token, kept while logged in). */
  const blobUrls = new Map<string, Promise<string>>();
  function attachmentUrl(attachmentId: string): Promise<string> {
    let url = blobUrls.get(attachmentId);
    if (url === undefined) {
      url = client
        .downloadAttachment(attachmentId)
        .then((response) => response.blob())
        .then((blob) => URL.createObjectURL(blob));
      url.catch(() => blobUrls.delete(attachmentId)); // tried again next time
      blobUrls.set(attachmentId, url);
    }
    return url;
  }

  /** Saves a file: fetched with the token, then handed to the browser as a download. */
  async function download(attachment: { id: string; name: string }): Promise<void> {
    try {
      const link = document.createElement('a');
      link.href = await attachmentUrl(attachment.id);
      link.download = attachment.name;
      link.click();
    } catch (error) {
      showNotice(error, `Could not download ${attachment.name}`);
    }
  }

  /** On stop: the blob: URLs are given back to the browser. */
  function revokeUrls(): void {
    for (const url of blobUrls.values())
      url.then(
        (u) => URL.revokeObjectURL(u),
        () => undefined,
      );
    blobUrls.clear();
  }

  return { uploads, attachFiles, dropUpload, sendFiles, attachmentUrl, download, revokeUrls };
}
