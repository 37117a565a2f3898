// Files sent with a message (docs/design.md §11): images are shown inline, everything
// else is offered as a download.
import type { Message } from '@parley/contracts';

/** A stored file (§11). */
export interface AttachmentInfo {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width?: number;
  height?: number;
}

type WithAttachments = { attachments?: readonly AttachmentInfo[] };

/** Files sent with a message (§11). */
export function attachmentsOf(message: Message): readonly AttachmentInfo[] {
  return (message as Message & WithAttachments).attachments ?? [];
}

/** Shown inline: raster images the server serves inline (§11); everything else downloads. */
export function isInlineImage(attachment: AttachmentInfo): boolean {
  return /^image\/(png|jpeg|gif|webp|avif)$/.test(attachment.contentType);
}
