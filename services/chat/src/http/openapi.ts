// The chat OpenAPI document, generated from the same route catalogue the routes are
// mounted from (packages/contracts/src/routes.ts).
import { ATTACHMENT_ROUTES, messageResponseSchema, routesOf } from '@parley/contracts';
import { createOpenApiDocument, type OpenApiDocument } from '@parley/server-kit';

export function createChatOpenApi(version = '0.1.0'): OpenApiDocument {
  return createOpenApiDocument({
    title: 'Parley chat',
    version,
    description:
      'Messages, history, direct conversations and rooms, threads, reactions, edits and read ' +
      'markers. Every state change is also published to the RabbitMQ exchange `chat.events` ' +
      '(see docs/design.md §5).',
    register(api) {
      for (const [name, route] of routesOf('chat')) {
        api.route({
          ...route,
          operationId: name,
          ...(name === 'sendMessage'
            ? {
                otherResponses: {
                  200: {
                    description: 'A repeated clientMsgId: the original message',
                    schema: messageResponseSchema,
                  },
                },
              }
            : {}),
        });
      }
      for (const [name, route] of Object.entries(ATTACHMENT_ROUTES)) {
        api.route({
          ...route,
          operationId: name,
          ...(name === 'downloadAttachment'
            ? {
                otherResponses: {
                  206: { description: 'The requested range (Content-Range)' },
                  304: { description: 'Not modified (If-None-Match matched the ETag)' },
                },
              }
            : {}),
        });
      }
    },
  });
}
