// The chat HTTP app, built from its dependencies: no env reads, no listening, no
// timers, so tests build as many as they like side by side.
import type { ReadinessCheck, Logger, Metrics, TokenVerifier } from '@parley/server-kit';
import { createHttpApp, finishHttpApp } from '@parley/server-kit';
import type { Express } from 'express';
import { createChatRouter } from './chat-routes';
import type { ChatServices } from '../chat-services';
import { createChatOpenApi } from './openapi';
import { ATTACHMENT_PATHS, createAttachmentRouter } from '../attachments/attachment-routes';

export interface ChatAppDeps {
  services: ChatServices;
  verifier: TokenVerifier;
  logger: Logger;
  metrics: Metrics;
  corsOrigins: '*' | readonly string[];
  bodyLimit?: string;
  /** Answer 503 to a request still running after this long (see the kit's createHttpApp). */
  requestDeadlineMs?: number;
  /**
   * What /readyz asks. main.ts passes MongoDB only: while RabbitMQ is down the outbox
   * keeps every change, so the instance can still take writes.
   */
  readiness?: readonly ReadinessCheck[];
}

export function createApp(deps: ChatAppDeps): Express {
  const app = createHttpApp({
    logger: deps.logger,
    metrics: deps.metrics,
    corsOrigins: deps.corsOrigins,
    openapi: createChatOpenApi(),
    streamingRoutes: {
      paths: ATTACHMENT_PATHS,
      router: createAttachmentRouter(deps.services, deps.verifier),
    },
    ...(deps.bodyLimit !== undefined ? { bodyLimit: deps.bodyLimit } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.requestDeadlineMs !== undefined ? { requestDeadlineMs: deps.requestDeadlineMs } : {}),
  });
  app.use(createChatRouter({ services: deps.services, verifier: deps.verifier }));
  return finishHttpApp(app);
}
