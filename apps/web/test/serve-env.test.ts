// serve.mjs' environment: what the container, compose and `pnpm start` hand it.
import { readWebEnv } from '../serve-env.cjs';

describe('readWebEnv', () => {
  test('When WEB_PORT is set, then it wins over PORT; without it PORT is used, else 8080', () => {
    expect(readWebEnv({ WEB_PORT: '9001', PORT: '9002' }).WEB_PORT).toBe(9001);
    expect(readWebEnv({ PORT: '9002' }).WEB_PORT).toBe(9002);
    expect(readWebEnv({}).WEB_PORT).toBe(8080);
  });

  test('When compose passes a URL it was not given (empty), then it counts as unset', () => {
    const settings = readWebEnv({
      PARLEY_AUTH_URL: '',
      PARLEY_CHAT_URL: 'https://chat.example.com',
      HOST: '',
    });

    expect(settings).toEqual({
      WEB_PORT: 8080,
      HOST: '127.0.0.1',
      PARLEY_CHAT_URL: 'https://chat.example.com',
    });
  });

  test('When a URL is not http(s), then it is refused naming the variable, not its value', () => {
    const read = () => readWebEnv({ PARLEY_WEBSOCKET_URL: 'ws://secret-host:5003' });

    expect(read).toThrow(/PARLEY_WEBSOCKET_URL/);
    expect(read).toThrow(/must be a URL starting with http:\/\/ or https:\/\//);
    expect(read).not.toThrow(/secret-host/);
  });

  test('When a port is out of range, then it is refused', () => {
    expect(() => readWebEnv({ WEB_PORT: '70000' })).toThrow(/WEB_PORT/);
  });
});
