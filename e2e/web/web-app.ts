// What the browser tests need, in one place: Debian's Chromium driven by
// playwright-core, and the built web app (apps/web) served by its own serve.mjs and
// pointed at a stack, both started through @parley/testing.
import { existsSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ParleyClient } from '@parley/client';
import {
  closeAllConnections,
  createClient,
  reportLogsOnFailure,
  ServiceProcess,
  startStack,
  type Stack,
} from '@parley/testing';
import { loadWebKnobs } from './web-knobs';

export { createUsers, waitFor, uniqueName, type Stack, type TestUser } from '@parley/testing';

/** The browser the tests drive (CHROMIUM_PATH, see web-knobs.ts). */
export const { CHROMIUM_PATH } = loadWebKnobs();
export const hasChromium = existsSync(CHROMIUM_PATH);
export const SKIP_REASON = `[e2e web] skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)\n`;

/**
 * The app as `node serve.mjs` (which builds it first if dist/ is stale), a child
 * process like the services: port 0, and gone with this process however it ends. Its
 * stderr is passed on to the test's.
 */
function webAppProcess(): ServiceProcess {
  return new ServiceProcess({
    service: 'web',
    env: { HOST: '127.0.0.1' },
    // a stale dist/ is rebuilt first (vite build)
    readyTimeoutMs: 120_000,
    onLine: (line, stream) => {
      if (stream === 'stderr') process.stderr.write(`[web] ${line}\n`);
    },
  });
}

/** Chromium as the brief for these tests wants it: headless, no sandbox or GPU, nothing phoning home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // playwright gives every launch a fresh temporary --user-data-dir.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A browser context (one user: its own storage) with a page on the app. */
export async function openApp(
  browser: Browser,
  app: { readonly url: string },
  viewport = { width: 1280, height: 800 },
  colorScheme: 'light' | 'dark' = 'light',
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport,
    colorScheme,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  // The page's own errors belong in the test's output.
  page.on('pageerror', (error) =>
    process.stderr.write(`[browser] ${error.stack ?? error.message}\n`),
  );
  page.on('console', (message) => {
    // A refused socket while a service is down is expected (and its URL holds a token).
    if (message.type() === 'error' && !message.text().startsWith('WebSocket connection to')) {
      process.stderr.write(`[browser console] ${message.text()}\n`);
    }
  });
  await page.goto(app.url);
  return { context, page };
}

/** Logs in through the UI. */
export async function logInUi(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

/** Creates an account through the UI (register, then logged in). */
export async function registerInUi(
  page: Page,
  username: string,
  displayName: string,
  password: string,
): Promise<void> {
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

export interface WebStackHandle {
  readonly stack: Stack;
  /** The web app; its `url` is the page to open. */
  readonly app: ServiceProcess;
  readonly browser: Browser;
}

/**
 * For one test file: a stack whose services admit the app's origin (CORS_ORIGINS, as
 * a deployment would set it), the app served for it, and Chromium; all stopped after
 * the file's tests, with the services' log tails printed under a failed test.
 *
 * The services must know the app's origin before they start, and the app the
 * services' URLs: so the app binds port 0 first, and once the stack runs it comes back
 * on that same port with the stack's URLs (a restart, as the launcher does for any
 * service). No port is picked beforehand.
 */
export function useWebStack(name = 'web'): WebStackHandle {
  let stack: Stack | undefined;
  let app: ServiceProcess | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    app = webAppProcess();
    await app.start();
    stack = await startStack({
      name,
      readyTimeoutMs: 60_000,
      env: {
        CORS_ORIGINS: app.url,
        // Chromium shares the cores with the services here: a slow moment should be
        // slow, not a 503 from the 1.5 s request deadline these tests are not about.
        REQUEST_DEADLINE_MS: '10000',
      },
    });
    const urls = {
      PARLEY_AUTH_URL: stack.authUrl,
      PARLEY_CHAT_URL: stack.chatUrl,
      PARLEY_WEBSOCKET_URL: stack.websocketUrls[0] ?? '',
    };
    [, browser] = await Promise.all([app.restart({ env: urls }), launchChromium()]);
  }, 150_000);
  reportLogsOnFailure(() => stack);
  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
    closeAllConnections();
    await stack?.stop();
  }, 30_000);
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started (use it inside a test)`);
    return value;
  };
  return {
    get stack() {
      return started(stack, 'the stack');
    },
    get app() {
      return started(app, 'the web app');
    },
    get browser() {
      return started(browser, 'the browser');
    },
  };
}

/** Registers and logs in a user with a display name (usernames are the stack's own: its database is). */
export async function registerUser(
  stack: Stack,
  username: string,
  displayName: string,
  password = `pw-${username}-secret`,
): Promise<ParleyClient> {
  const client = createClient(stack);
  await client.register({ username, password, displayName });
  await client.login({ username, password });
  return client;
}

/** A real PNG (the server checks its header): `width` × `height`, a diagonal gradient. */
export function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows.set([(x * 255) / width, (y * 255) / height, 180], at);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
