// @parley/client: a typed client for Parley's REST endpoints and its realtime
// connection (reconnect with backoff and jitter, token refresh, resume, dedupe and
// gap filling). See README.md.
export { ParleyClient, type ClientRouteName, type ParleyClientOptions } from './parley-client';
export type {
  DownloadOptions,
  UploadOptions,
  UploadProgress,
  UploadSource,
} from './attachment-transfer';
export { RealtimeConnection, createRealtime } from './realtime-connection';
export type {
  ConversationsPageRequest,
  HistoryPageRequest,
  RealtimeDeps,
  RealtimeOptions,
} from './realtime-options';
export type {
  DisconnectInfo,
  MessageDelivery,
  MessageSource,
  RealtimeEvents,
} from './realtime-events';
export type { SendInput } from './pending-requests';
export {
  ParleyApiError,
  ParleyRealtimeError,
  ParleyResponseError,
  isSessionRejected,
  type ApiErrorCode,
} from './errors';
export { SessionManager, sessionFromTokens, type SessionState, type TokenSource } from './session';
export { applyConversationUpdate, isMemberAfter, type ConversationUpdate } from './member-list';
export { applyMessageChange, changedMessageId, type MessageChange } from './message-changes';
export {
  SeqTracker,
  type AcceptResult,
  type AcceptStatus,
  type SeqTrackerOptions,
} from './seq-tracker';
export { backoffDelay, type BackoffOptions } from './backoff';
export {
  buildQuery,
  fillPath,
  type CallArgs,
  type CallOptions,
  type CallResult,
  type RouteInput,
} from './route-request';
export type { WebSocketConstructor, WebSocketLike } from './socket-transport';
