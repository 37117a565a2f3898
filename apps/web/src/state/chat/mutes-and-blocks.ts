// Muting and blocking (§10.2, §10.3): mine alone, nobody else is told.
import type { UserRef } from '@parley/contracts';
import { signal } from '@preact/signals';
import { muteUntil, withMute } from '../../model/conversation-list';
import type { ChatState } from './shared-state';

export type MutesAndBlocks = ReturnType<typeof createMutesAndBlocks>;

export function createMutesAndBlocks(state: ChatState) {
  const { client, now, live, showNotice, updateSummary } = state;
  /** Ids of the users I block (§10.2), loaded at start and kept by block/unblock here. */
  const blocked = signal<ReadonlySet<string>>(new Set());

  /** Mutes for `ms` from now, or until unmuted (null). */
  async function mute(id: string, ms: number | null): Promise<void> {
    const until = muteUntil(ms, now());
    try {
      await client.mute(id, until);
      updateSummary(id, (c) => withMute(c, until === undefined ? {} : { until }));
    } catch (error) {
      showNotice(error, 'Could not mute the conversation');
    }
  }

  async function unmute(id: string): Promise<void> {
    try {
      await client.unmute(id);
      updateSummary(id, (c) => withMute(c, null));
    } catch (error) {
      showNotice(error, 'Could not unmute the conversation');
    }
  }

  async function loadBlocks(): Promise<void> {
    try {
      const list = await client.blocks();
      if (!live.stopped) blocked.value = new Set(list.map((u) => u.id));
    } catch {
      // nothing shows as blocked; blocking and unblocking still work
    }
  }

  async function block(user: UserRef): Promise<void> {
    try {
      await client.block(user.username);
      blocked.value = new Set([...blocked.value, user.id]);
    } catch (error) {
      showNotice(error, `Could not block @${user.username}`);
    }
  }

  async function unblock(user: UserRef): Promise<void> {
    try {
      await client.unblock(user.username);
      const next = new Set(blocked.value);
      next.delete(user.id);
      blocked.value = next;
    } catch (error) {
      showNotice(error, `Could not unblock @${user.username}`);
    }
  }

  return { blocked, mute, unmute, loadBlocks, block, unblock };
}
