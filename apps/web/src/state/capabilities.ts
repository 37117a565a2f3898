// What the UI offers beyond today's contract depends on what the client can do:
// attachments (docs/design.md §11) and room moderation (§10) appear once @parley/client has
// the methods for them, and not before. Nothing is faked in between.
import type { ParleyClient } from '@parley/client';

export interface Capabilities {
  /** Upload a file and send it with a message (`uploadAttachment`). */
  attachments: boolean;
  /** Set roles, remove and ban room members (`setRole`, `removeMember`, `ban`). */
  moderation: boolean;
}

export function capabilitiesOf(client: ParleyClient): Capabilities {
  const has = (name: string) =>
    typeof (client as unknown as Record<string, unknown>)[name] === 'function';
  return {
    attachments: has('uploadAttachment'),
    moderation: has('setRole') && has('removeMember') && has('ban'),
  };
}
