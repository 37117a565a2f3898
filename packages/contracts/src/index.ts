// @parley/contracts: the one source of truth for every REST body, event and
// WebSocket frame. Services, the client and the tests import these schemas and
// the types inferred from them; nothing re-declares a shape.
export * from './zod';
export * from './errors';
export * from './common';
export * from './auth';
export * from './attachments';
export * from './chat';
export * from './webhooks';
export * from './events';
export * from './frames';
export * from './routes';
