// What the UI offers beyond the client's core depends on what the client can do:
// attachments (docs/design.md §11) appear once @parley/client has the method for them,
// and not before. Nothing is faked in between.
import type { ParleyClient } from '@parley/client';

export interface Capabilities {
  /** Upload a file and send it with a message (`uploadAttachment`). */
  attachments: boolean;
}

export function capabilitiesOf(client: ParleyClient): Capabilities {
  const has = (name: string) =>
    typeof (client as unknown as Record<string, unknown>)[name] === 'function';
  return { attachments: has('uploadAttachment') };
}
