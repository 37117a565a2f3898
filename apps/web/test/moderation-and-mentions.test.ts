// The view logic of docs/design.md §10 in the app: mention counts kept live, the `@`
// autocomplete, muting (ends, labels), and what the member list offers whom; and the
// sizes and boxes of attachments (§11).
import type { ConversationMember } from '@parley/contracts';
import { fileSize, inlineBox, uploadPercent } from '../src/model/attachments';
import {
  applyMessage,
  applyOwnRead,
  isMuted,
  muteLabel,
  muteUntil,
  withMute,
} from '../src/model/conversation-list';
import { insertMention, mentionCandidates, mentionQuery } from '../src/model/mentions';
import {
  canDelete,
  isModerator,
  moderationActions,
  roleIn,
  roleSetBy,
} from '../src/model/room-roles';
import { ana, ben, cal, message, summary } from './fixtures';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const utc = { locale: 'en-GB', timeZone: 'UTC' };

describe('mention counts', () => {
  test('When an unread message from someone else mentions me, then the mention count goes up with the unread count', () => {
    const before = summary({ lastSeq: 4, lastReadSeq: 4 });
    const after = applyMessage(before, message(5, { sender: ben, mentions: [ana] }), ana.id);
    expect(after).toMatchObject({ unreadCount: 1, mentionCount: 1 });
    const other = applyMessage(after, message(6, { sender: ben, mentions: [cal] }), ana.id);
    expect(other).toMatchObject({ unreadCount: 2, mentionCount: 1 });
  });

  test('When the same mention arrives twice, then it is counted once', () => {
    const listed = summary({ lastSeq: 5, lastReadSeq: 4, unreadCount: 1, mentionCount: 1 });
    const again = applyMessage(listed, message(5, { sender: ben, mentions: [ana] }), ana.id);
    expect(again.mentionCount).toBe(1);
  });

  test('When I read up to the end or write myself, then no mention is left; a partial read caps them', () => {
    const c = summary({ lastSeq: 10, lastReadSeq: 2, unreadCount: 8, mentionCount: 3 });
    expect(applyOwnRead(c, 10).mentionCount).toBe(0);
    expect(applyOwnRead(c, 8).mentionCount).toBe(2);
    expect(applyMessage(c, message(11, { sender: ana }), ana.id).mentionCount).toBe(0);
  });
});

describe('@ autocomplete', () => {
  const members: ConversationMember[] = [
    ana,
    { ...ben, role: 'member' },
    { id: 'u-bea', username: 'bea' },
    cal,
  ];
  const directory = {
    'u-cal': { id: 'u-cal', username: 'cal', displayName: 'Bertha Cal', createdAt: '' },
  };

  test('When the caret follows @ and the start of a name, then that is the query; inside a word or an address it is not', () => {
    expect(mentionQuery('hi @be', 6)).toEqual({ start: 3, query: 'be' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('(@Ben', 5)).toEqual({ start: 1, query: 'ben' });
    expect(mentionQuery('mail bob@example', 16)).toBeNull();
    expect(mentionQuery('hi @ben there', 13)).toBeNull();
    expect(mentionQuery('hi @be', 2)).toBeNull();
  });

  test('When members are offered, then usernames that match come first, display names next, never me', () => {
    expect(mentionCandidates(members, 'b', ana.id, directory).map((u) => u.username)).toEqual([
      'bea',
      'ben',
      'cal',
    ]);
    expect(mentionCandidates(members, '', ana.id, directory, 2)).toHaveLength(2);
    expect(mentionCandidates(members, 'an', ana.id)).toEqual([]);
  });

  test('When a member is picked, then the typed @query becomes @username and a space, the rest kept', () => {
    expect(insertMention('hi @be', { start: 3, query: 'be' }, 'ben')).toEqual({
      text: 'hi @ben ',
      caret: 8,
    });
    expect(insertMention('@b how are you', { start: 0, query: 'b' }, 'bea')).toEqual({
      text: '@bea how are you',
      caret: 5,
    });
  });
});

describe('muting', () => {
  test('When a mute has an end, then it holds until then and the list says until when', () => {
    const c = withMute(summary(), { until: '2026-11-21T13:30:00.000Z' });
    expect(isMuted(c, NOW)).toBe(true);
    expect(muteLabel(c, NOW, utc)).toBe('Muted until 13:30');
    expect(isMuted(c, Date.parse('2026-11-21T13:30:00.000Z'))).toBe(false);
    expect(muteLabel(c, Date.parse('2026-11-21T14:00:00.000Z'), utc)).toBeNull();
  });

  test('When a mute ends another day or never, then the label names the day or just says muted', () => {
    const later = withMute(summary(), { until: '2026-11-25T09:00:00.000Z' });
    expect(muteLabel(later, NOW, utc)).toBe('Muted until Wed 25 Nov, 09:00');
    const forever = withMute(later, {});
    expect(forever).not.toHaveProperty('mutedUntil');
    expect(muteLabel(forever, NOW, utc)).toBe('Muted');
    expect(withMute(forever, null)).toMatchObject({ muted: false });
  });

  test('When a mute choice is taken, then its end is that far from now, or none', () => {
    expect(muteUntil(3_600_000, NOW)).toBe('2026-11-21T13:00:00.000Z');
    expect(muteUntil(null, NOW)).toBeUndefined();
  });
});

describe('room roles', () => {
  const room = {
    kind: 'room' as const,
    members: [
      { ...ana, role: 'owner' as const },
      { ...ben, role: 'admin' as const },
      { ...cal, role: 'member' as const },
    ],
  };

  test('When roles are known, then owners manage everyone but owners, admins only members', () => {
    expect(moderationActions(undefined, 'member')).toEqual([]);
    expect(moderationActions('owner', 'member')).toEqual(['make-admin', 'remove', 'ban']);
    expect(moderationActions('owner', 'admin')).toEqual([
      'make-owner',
      'make-member',
      'remove',
      'ban',
    ]);
    expect(moderationActions('owner', 'owner')).toEqual([]);
    expect(moderationActions('admin', 'member')).toEqual(['remove', 'ban']);
    expect(moderationActions('admin', 'admin')).toEqual([]);
    expect(moderationActions('member', 'member')).toEqual([]);
    expect(
      ['make-owner', 'make-admin', 'make-member', 'ban'].map((a) => roleSetBy(a as never)),
    ).toEqual(['owner', 'admin', 'member', undefined]);
  });

  test('When a message is someone else’s, then only a room’s owners and admins may delete it', () => {
    const fromCal = message(1, { sender: cal });
    expect(roleIn(room, ben.id)).toBe('admin');
    expect(isModerator(roleIn(room, cal.id))).toBe(false);
    expect(canDelete(fromCal, ben.id, room)).toBe(true);
    expect(canDelete(message(2, { sender: ben }), cal.id, room)).toBe(false);
    expect(canDelete(fromCal, cal.id, room)).toBe(true);
    // a direct conversation has no moderators
    expect(canDelete(fromCal, ana.id, { kind: 'direct', members: [ana, cal] })).toBe(false);
  });
});

describe('attachments', () => {
  test('When sizes are shown, then they read as B, kB or MB', () => {
    expect([812, 14_200, 2_400_000, 10_500_000].map(fileSize)).toEqual([
      '812 B',
      '14 kB',
      '2.4 MB',
      '11 MB',
    ]);
  });

  test('When an image is shown inline, then its box keeps its shape within the limit and never grows', () => {
    expect(inlineBox({ width: 1600, height: 900 })).toEqual({ width: 320, height: 180 });
    expect(inlineBox({ width: 300, height: 1200 })).toEqual({ width: 80, height: 320 });
    expect(inlineBox({ width: 40, height: 30 })).toEqual({ width: 40, height: 30 });
    expect(inlineBox({})).toBeUndefined();
  });

  test('When an upload moves, then its percentage follows and stops at 100', () => {
    expect(uploadPercent(0, 200)).toBe(0);
    expect(uploadPercent(199, 200)).toBe(99);
    expect(uploadPercent(250, 200)).toBe(100);
    expect(uploadPercent(0, 0)).toBe(100);
  });
});
