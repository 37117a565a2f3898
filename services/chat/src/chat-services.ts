// Everything the use cases work with, built once per app from a database and a
// publisher: the stores, the outbox over their collections and the send queue.
// Tests build two of these side by side over one database (two "instances").
import type { ParleyEvent } from '@parley/contracts';
import type { EventPublisher, Logger } from '@parley/server-kit';
import type { Db } from 'mongodb';
import type { ChatMetrics } from './chat-metrics';
import {
  CONVERSATIONS_COLLECTION,
  DEFAULT_ROOM_MEMBERS_INLINE_MAX,
  createConversationStore,
  type ConversationStore,
} from './conversations/conversation-store';
import {
  MESSAGES_COLLECTION,
  createMessageStore,
  type MessageStore,
  type MessageStoreHooks,
  type SeqHint,
} from './messages/message-store';
import { createOutbox, type Outbox } from './outbox/outbox';
import { createMessageRelay, type MessageRelay } from './outbox/message-relay';
import {
  READ_MARKERS_COLLECTION,
  createReadMarkerStore,
  type ReadMarkerStore,
} from './conversations/read-marker-store';
import {
  DEFAULT_SYNC_INTERVAL_MS,
  createSharedRateLimiter,
  type SharedRateLimiter,
} from './rate-limits/shared-rate-limiter';
import {
  DEFAULT_USER_LIMITS,
  createUserLimits,
  type UserLimitSettings,
  type UserLimits,
} from './rate-limits/user-limits';
import { createSerialQueue, type SerialQueue } from './messages/send-queue';
import {
  DEFAULT_SEND_LIMITS,
  createSendAdmission,
  type SendAdmission,
  type SendLimits,
} from './messages/send-admission';
import type { UserDirectory } from './user-directory';
import { createAttachmentStore, type AttachmentStore } from './attachments/attachment-store';
import {
  DEFAULT_ATTACHMENT_SETTINGS,
  type AttachmentSettings,
} from './attachments/attachment-upload';
import { createWebhookStore, type WebhookStore } from './webhooks/webhook-store';
import { DEFAULT_ROOM_MAX_MEMBERS, createRoomMemberStore } from './rooms/room-member-store';
import { moveLegacyRoomMembers } from './rooms/legacy-room-members';
import { createRoomBanStore, type RoomBanStore } from './rooms/room-ban-store';
import { createBlockStore, type BlockStore } from './blocks/block-store';
import { createMuteStore, type MuteStore } from './conversations/mute-store';
import type { Collection, Document } from 'mongodb';

export interface ChatServices {
  messages: MessageStore;
  conversations: ConversationStore;
  readMarkers: ReadMarkerStore;
  roomBans: RoomBanStore;
  blocks: BlockStore;
  mutes: MuteStore;
  users: UserDirectory;
  outbox: Outbox;
  /** Publishes new messages' events and keeps this instance's checkpoint (message-relay.ts). */
  messageRelay: MessageRelay;
  metrics: ChatMetrics;
  sendQueue: SerialQueue<SeqHint>;
  /** Load shedding for sends (send-admission.ts). */
  sendAdmission: SendAdmission;
  /** What one account may do per window (rate-limits/user-limits.ts). */
  limits: UserLimits;
  /** Counts the limits across instances; main.ts starts and stops its sync. */
  rateLimiter: SharedRateLimiter;
  /** Members a room may have at most (docs/design.md §4.14). */
  roomMaxMembers: number;
  /** Rooms past this many members carry a bounded member list (docs/design.md §4.2). */
  roomMembersInlineMax: number;
  sendHooks: SendHooks;
  /** Files in GridFS (attachments/), and their limits. */
  attachments: AttachmentStore;
  attachmentSettings: AttachmentSettings;
  /** Outgoing webhooks registered per room (webhooks/). */
  webhooks: WebhookStore;
  /** Whether webhook targets may be private, loopback or link-local addresses. */
  webhookAllowPrivate: boolean;
  roomChangeHooks: RoomChangeHooks;
  now: () => Date;
  /**
   * Creates every index the queries need and moves rooms stored before room_members
   * into it (idempotent; main.ts runs it at startup).
   */
  ensureIndexes(): Promise<void>;
}

/** Points in /chat/send where a test may step in (main.ts sets them only in NODE_ENV=test). */
export interface SendHooks {
  /** After the message and its outbox events are stored, before they are dispatched. */
  afterStore?(message: { text: string; seq: number }): void;
}

/** A point in a room change where a test may step in (rooms/membership-change.ts). */
export interface RoomChangeHooks {
  /** After the claim, before the rows are written. */
  afterClaim?(roomId: string): Promise<void> | void;
}

export interface ChatServicesOptions {
  db: Db;
  publisher: EventPublisher<ParleyEvent>;
  users: UserDirectory;
  logger: Logger;
  metrics: ChatMetrics;
  /** The broker connection's state: the relay idles and typing is dropped while it is down. */
  isBrokerConnected?: () => boolean;
  outboxGraceMs?: number;
  outboxBatchSize?: number;
  /** ConversationStore.findRecent's ttl; default 1000 ms, 0 off. */
  conversationCacheTtlMs?: number;
  /** How long conversation activity gathers before its one bulk write; default 100 ms. */
  activityWriteDelayMs?: number;
  /** The message relay's checkpoint interval; default 1000 ms. */
  relayCheckpointIntervalMs?: number;
  /** A relay checkpoint without a heartbeat for this long is adopted; default 5000 ms. */
  relayLeaseMs?: number;
  /** This process's id as a message origin; default a random UUID. */
  instanceId?: string;
  messageHooks?: MessageStoreHooks;
  sendHooks?: SendHooks;
  roomChangeHooks?: RoomChangeHooks;
  /** Per-user limits; each defaults to DEFAULT_USER_LIMITS'. */
  limits?: Partial<UserLimitSettings>;
  /** How often the limits' counts are synced with MongoDB; default 250 ms. */
  rateLimitSyncIntervalMs?: number;
  /** Default DEFAULT_ROOM_MAX_MEMBERS. */
  roomMaxMembers?: number;
  /** Default DEFAULT_ROOM_MEMBERS_INLINE_MAX. */
  roomMembersInlineMax?: number;
  /** Overload limits for sends; each defaults to DEFAULT_SEND_LIMITS'. */
  sendLimits?: Partial<SendLimits>;
  attachmentSettings?: Partial<AttachmentSettings>;
  /** Default false: webhooks may target only public addresses. */
  webhookAllowPrivate?: boolean;
  now?: () => Date;
}

export function createChatServices(options: ChatServicesOptions): ChatServices {
  const now = options.now ?? (() => new Date());
  const messages = createMessageStore({
    db: options.db,
    now,
    ...(options.messageHooks ? { hooks: options.messageHooks } : {}),
  });
  const roomMembers = createRoomMemberStore({ db: options.db });
  const roomBans = createRoomBanStore({ db: options.db });
  const blocks = createBlockStore({
    db: options.db,
    ...(options.conversationCacheTtlMs !== undefined
      ? { cacheTtlMs: options.conversationCacheTtlMs }
      : {}),
  });
  const mutes = createMuteStore({ db: options.db });
  const conversations = createConversationStore({
    db: options.db,
    roomMembers,
    now,
    ...(options.conversationCacheTtlMs !== undefined
      ? { cacheTtlMs: options.conversationCacheTtlMs }
      : {}),
    ...(options.activityWriteDelayMs !== undefined
      ? { activityWriteDelayMs: options.activityWriteDelayMs }
      : {}),
    onActivityWriteFailure: () => options.metrics.lastSeqWriteFailures.inc(),
  });
  const messageRelay = createMessageRelay({
    db: options.db,
    withMembers: conversations.withMembers,
    publisher: options.publisher,
    logger: options.logger,
    metrics: options.metrics,
    now,
    ...(options.instanceId !== undefined ? { instanceId: options.instanceId } : {}),
    ...(options.relayCheckpointIntervalMs !== undefined
      ? { intervalMs: options.relayCheckpointIntervalMs }
      : {}),
    ...(options.relayLeaseMs !== undefined ? { leaseMs: options.relayLeaseMs } : {}),
    ...(options.isBrokerConnected ? { isConnected: options.isBrokerConnected } : {}),
  });
  const readMarkers = createReadMarkerStore({ db: options.db, now });
  const collections: Record<string, Collection<Document>> = {
    [MESSAGES_COLLECTION]: messages.collection as unknown as Collection<Document>,
    [CONVERSATIONS_COLLECTION]: conversations.collection as unknown as Collection<Document>,
    [READ_MARKERS_COLLECTION]: readMarkers.collection as unknown as Collection<Document>,
  };
  const outbox = createOutbox({
    publisher: options.publisher,
    collections,
    logger: options.logger,
    metrics: options.metrics,
    now,
    ...(options.isBrokerConnected ? { isConnected: options.isBrokerConnected } : {}),
    ...(options.outboxGraceMs !== undefined ? { graceMs: options.outboxGraceMs } : {}),
    ...(options.outboxBatchSize !== undefined ? { batchSize: options.outboxBatchSize } : {}),
  });
  const sendLimits: SendLimits = { ...DEFAULT_SEND_LIMITS, ...definedOnly(options.sendLimits) };
  const rateLimiter = createSharedRateLimiter({
    db: options.db,
    syncIntervalMs: options.rateLimitSyncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    logger: options.logger,
    onSyncFailure: () => options.metrics.rateLimitSyncFailures.inc(),
  });
  const limits = createUserLimits(
    rateLimiter,
    { ...DEFAULT_USER_LIMITS, ...definedOnly(options.limits) },
    (rule) => options.metrics.rateLimited.inc({ rule }),
  );
  const attachments = createAttachmentStore(options.db);
  const webhooks = createWebhookStore(options.db);
  return {
    messages,
    conversations,
    readMarkers,
    roomBans,
    blocks,
    mutes,
    users: options.users,
    outbox,
    messageRelay,
    metrics: options.metrics,
    sendQueue: createSerialQueue<SeqHint>(() => ({}), {
      maxPerKey: sendLimits.maxQueuedPerConversation,
    }),
    sendAdmission: createSendAdmission(sendLimits, options.metrics),
    limits,
    rateLimiter,
    roomMaxMembers: options.roomMaxMembers ?? DEFAULT_ROOM_MAX_MEMBERS,
    roomMembersInlineMax: options.roomMembersInlineMax ?? DEFAULT_ROOM_MEMBERS_INLINE_MAX,
    sendHooks: options.sendHooks ?? {},
    attachments,
    attachmentSettings: {
      ...DEFAULT_ATTACHMENT_SETTINGS,
      ...definedOnly(options.attachmentSettings),
    },
    webhooks,
    webhookAllowPrivate: options.webhookAllowPrivate ?? false,
    roomChangeHooks: options.roomChangeHooks ?? {},
    now,
    async ensureIndexes() {
      // one store after another: at startup the pool is cold, the driver opens at most
      // two connections at a time, and ten stores asking at once on a slow server ran
      // past the pool's 1 s wait (MongoWaitQueueTimeoutError) before any index was made
      const stores = [
        messages,
        conversations,
        roomMembers,
        roomBans,
        blocks,
        mutes,
        readMarkers,
        rateLimiter,
        attachments,
        webhooks,
      ];
      for (const store of stores) await store.ensureIndexes();
      await moveLegacyRoomMembers(conversations.collection, roomMembers.collection);
    },
  };
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
