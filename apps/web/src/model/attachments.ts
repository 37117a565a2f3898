// Files sent with a message (docs/design.md §11): images are shown inline, everything
// else is offered as a download.
import type { Attachment, Message } from '@parley/contracts';

/** A stored file as messages carry it (§11). */
export type AttachmentInfo = Attachment;

/** Files sent with a message (§11). */
export function attachmentsOf(message: Message): readonly AttachmentInfo[] {
  return message.attachments ?? [];
}

/** Shown inline: the four raster types the server checks and serves inline (§11.3); the rest downloads. */
export function isInlineImage(attachment: Pick<AttachmentInfo, 'contentType'>): boolean {
  return /^image\/(png|jpeg|gif|webp)$/.test(attachment.contentType);
}

/** "812 B", "14 kB", "2.4 MB" (decimal units, as file managers show them). */
export function fileSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} kB`;
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}

/**
 * The size an inline image takes before its bytes arrive (so the list does not jump):
 * its own width and height scaled down to fit `max` × `max`, never up.
 */
export function inlineBox(
  attachment: Pick<AttachmentInfo, 'width' | 'height'>,
  max = 320,
): { width: number; height: number } | undefined {
  const { width, height } = attachment;
  if (width === undefined || height === undefined || width <= 0 || height <= 0) return undefined;
  const scale = Math.min(1, max / width, max / height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** How far an upload is, 0–100. */
export function uploadPercent(sent: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((sent / total) * 100));
}
