import { EventEmitter } from 'node:events';
import { createMetrics, serveProcess, type ServeProcessConfig } from '@parley/server-kit';
import { createCapturingLogger, waitFor } from '@parley/testing';

const config: ServeProcessConfig = {
  PORT: 0,
  HOST: '127.0.0.1',
  METRICS_PORT: 0,
  METRICS_HOST: '127.0.0.1',
  SHUTDOWN_TIMEOUT_MS: 5_000,
  HTTP_HEADERS_TIMEOUT_MS: 4_000,
  HTTP_REQUEST_TIMEOUT_MS: 8_000,
  HTTP_KEEP_ALIVE_TIMEOUT_MS: 3_000,
};

function signalTarget() {
  const target = new EventEmitter() as EventEmitter & { exit: jest.Mock };
  target.exit = jest.fn();
  return target;
}

describe('serveProcess', () => {
  it('When a process is served, then both listeners answer, it is logged and announced after onListening, and a SIGTERM runs its steps in the given order and exits 0', async () => {
    const { logger, lines } = createCapturingLogger();
    const events: string[] = [];
    const signals = signalTarget();

    const served = await serveProcess({
      name: 'test service',
      config,
      logger,
      app: (_req, res) => res.end('ok'),
      metrics: createMetrics({ service: 'test' }),
      logFields: { queue: 'q' },
      async onListening(server) {
        const answer = await fetch(server.url);
        events.push(`onListening: ${await answer.text()}`);
      },
      announce: (url, metricsUrl) => events.push(`announce ${url} ${metricsUrl}`),
      signals,
      shutdownSteps: ({ server, metricsServer }) => [
        { name: 'http', close: () => server.close().then(() => void events.push('http')) },
        { name: 'drain', close: async () => void events.push('drain') },
        {
          name: 'metrics',
          close: () => metricsServer.close().then(() => void events.push('metrics')),
        },
      ],
    });
    const { server, metricsServer } = served;

    expect(await (await fetch(server.url)).text()).toBe('ok');
    expect((await fetch(`${metricsServer.url}/metrics`)).status).toBe(200);
    expect(server.server.headersTimeout).toBe(config.HTTP_HEADERS_TIMEOUT_MS);
    expect(server.server.keepAliveTimeout).toBe(config.HTTP_KEEP_ALIVE_TIMEOUT_MS);
    expect(events).toEqual(['onListening: ok', `announce ${server.url} ${metricsServer.url}`]);
    expect(lines().find((l) => l['msg'] === 'test service listening')).toMatchObject({
      url: server.url,
      metricsUrl: metricsServer.url,
      queue: 'q',
    });

    signals.emit('SIGTERM');
    await waitFor(() => signals.exit.mock.calls.length > 0 || undefined, {
      description: 'the exit after the shutdown',
    });

    expect(events.slice(2)).toEqual(['http', 'drain', 'metrics']);
    expect(signals.exit).toHaveBeenCalledWith(0);
    await expect(fetch(server.url)).rejects.toThrow();
    await expect(served.shutdown('again')).resolves.toEqual({ clean: true, failed: [] });
  });
});
