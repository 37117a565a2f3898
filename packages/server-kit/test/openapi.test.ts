import SwaggerParser from '@apidevtools/swagger-parser';
import { z } from 'zod';
import { ROUTES } from '@parley/contracts';
import { createOpenApiDocument, toOpenApiPath } from '@parley/server-kit';

describe('createOpenApiDocument', () => {
  const messageSchema = z.object({ id: z.string(), text: z.string() }).meta({ id: 'TestMessage' });

  function build() {
    return createOpenApiDocument({
      title: 'Parley test',
      version: '1.2.3',
      servers: [{ url: 'http://localhost:5002' }],
      register: (api) => {
        api.route({
          method: 'post',
          path: '/things/:id/messages',
          summary: 'Post a message',
          body: z.strictObject({ text: z.string().min(1) }),
          params: z.object({ id: z.string() }),
          success: { status: 201, schema: z.object({ message: messageSchema }) },
          errors: ['not_a_member', 'conversation_not_found'],
        });
        api.route({
          method: 'get',
          path: '/health-ish',
          summary: 'Public',
          auth: false,
          success: { status: 204 },
        });
      },
    });
  }

  it('When routes are registered, then the document is OpenAPI 3.1 with paths and shared components', () => {
    const doc = build();

    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'Parley test', version: '1.2.3' });
    expect(Object.keys(doc.paths).sort()).toEqual(['/health-ish', '/things/{id}/messages']);
    expect(doc.components?.['schemas']).toHaveProperty('Problem');
    expect(doc.components?.['schemas']).toHaveProperty('TestMessage');
    expect(doc.components?.['securitySchemes']).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
  });

  it('When a route has a body and auth, then its problem responses and security are documented', () => {
    const op = build().paths['/things/{id}/messages']?.['post'] as {
      security: unknown;
      parameters: { name: string; in: string }[];
      requestBody: { content: Record<string, unknown> };
      responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
    };

    expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(op.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
    expect(op.requestBody.content).toHaveProperty('application/json');
    expect(Object.keys(op.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      '500',
      '503',
    ]);
    expect(op.responses['404']?.content?.['application/problem+json']?.schema.$ref).toBe(
      '#/components/schemas/Problem',
    );
  });

  it('When a public route has no input, then it has no security and only the always-possible errors', () => {
    const op = build().paths['/health-ish']?.['get'] as {
      security?: unknown;
      responses: Record<string, unknown>;
    };

    expect(op.security).toBeUndefined();
    expect(Object.keys(op.responses).sort()).toEqual(['204', '500', '503']);
  });

  it('When the contracts route catalogue is registered, then every route becomes an operation', () => {
    const routes = Object.values(ROUTES);
    const doc = createOpenApiDocument({
      title: 'all',
      version: '1',
      register: (api) => api.routes(routes),
    });

    const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    expect(operations).toHaveLength(routes.length);
  });

  it('When a document is generated, then a real OpenAPI validator accepts it', async () => {
    const catalogue = createOpenApiDocument({
      title: 'all',
      version: '1',
      register: (api) => api.routes(Object.values(ROUTES)),
    });

    await expect(SwaggerParser.validate(structuredClone(build()) as never)).resolves.toBeDefined();
    await expect(
      SwaggerParser.validate(structuredClone(catalogue) as never),
    ).resolves.toBeDefined();
  });

  it('When a document is broken, then the validator used above does reject it', async () => {
    const broken = { ...structuredClone(build()), info: undefined };

    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });

  it('When an express path has parameters, then they become OpenAPI templates', () => {
    expect(toOpenApiPath('/chat/messages/:id/reactions/:emoji')).toBe(
      '/chat/messages/{id}/reactions/{emoji}',
    );
  });
});
