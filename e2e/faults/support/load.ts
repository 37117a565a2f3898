// What the load-shaped fault tests (websocket kill, soak) share: sockets the test can
// drop at random, a steady sender loop over realtime connections, rooms spread over
// the users, and an RSS sampler over the stack's processes with a "flat" verdict.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { WebSocketConstructor } from '@parley/client';
import type { Message } from '@parley/contracts';
import WebSocket from 'ws';
import { createUsers, type Stack, type TestUser } from '@parley/testing';
import { rssMiB, type Expected, type Participant } from './fault-stack';

/**
 * createUsers in batches: hundreds of parallel bcrypt registrations would meet auth's
 * request deadline (503) on a 2-core machine, which is not what a soak measures.
 */
export async function createManyUsers(
  stack: Stack,
  count: number,
  prefix: string,
  batch = 20,
): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (let i = 0; i < count; i += batch) {
    const names = Array.from(
      { length: Math.min(batch, count - i) },
      (_v, k) => `${prefix}${i + k}`,
    );
    users.push(...(await createUsers(stack, names)));
  }
  return users;
}

/** Runs `work` over `items` at most `batch` at a time, keeping the order. */
export async function inBatches<T, R>(
  items: readonly T[],
  batch: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += batch) {
    results.push(
      ...(await Promise.all(items.slice(i, i + batch).map((item, k) => work(item, i + k)))),
    );
  }
  return results;
}

/**
 * A WebSocket constructor like failoverWebSocket (each new socket to the next
 * instance in `urls`, the first to `urls[start]`) that also keeps the live sockets,
 * so a test can cut one abruptly and let the client reconnect on its own.
 */
export interface DroppableWebSocket {
  readonly WebSocket: WebSocketConstructor;
  /** Terminates the current socket (no close handshake); false when none is open. */
  drop(): boolean;
  readonly opened: number;
}

export function droppableWebSocket(
  urls: readonly string[],
  { start = 0 }: { start?: number } = {},
): DroppableWebSocket {
  let next = start;
  let current: WebSocket | undefined;
  let opened = 0;
  const track = (socket: WebSocket) => {
    current = socket;
  };
  class RoutedWebSocket extends WebSocket {
    constructor(url: string) {
      const base = urls[next % urls.length] as string;
      next += 1;
      const target = new URL(url);
      target.host = new URL(base).host;
      super(target.toString());
      opened += 1;
      track(this);
    }
  }
  return {
    WebSocket: RoutedWebSocket as unknown as WebSocketConstructor,
    drop() {
      if (current?.readyState !== WebSocket.OPEN) return false;
      current.terminate();
      return true;
    },
    get opened() {
      return opened;
    },
  };
}

export interface Room {
  id: string;
  members: Participant[];
}

/** Rooms of `size` participants each (the last may be smaller), created by their first member. */
export async function createRooms(
  participants: readonly Participant[],
  size: number,
  name: string,
): Promise<Room[]> {
  const groups: Participant[][] = [];
  for (let i = 0; i < participants.length; i += size) groups.push(participants.slice(i, i + size));
  // a few at a time: each resolves its members' usernames through auth
  return inBatches(groups, 4, async (members, index) => {
    const [owner, ...others] = members as [Participant, ...Participant[]];
    const room = await owner.user.client.createRoom({
      name: `${name}-${index}`,
      members: others.map((p) => p.user.username),
    });
    return { id: room.id, members };
  });
}

export interface SendLoopReport {
  attempted: number;
  acked: number;
  /** Sends answered with an error and sent again with the same ref (what an app does). */
  retried: number;
  /** Sends still not acked after every retry. */
  failed: number;
  failures: string[];
}

/**
 * Every participant sends to its room over its realtime connection (`send` frames,
 * acked by the server), one message per `intervalMs` each, staggered, until `until()`
 * is true. A send answered with an error (e.g. 503 when chat is briefly saturated) is
 * retried with the same ref, as an app would: the server answers it once. Resolves
 * once every send started has settled.
 */
export async function runSendLoop(
  rooms: readonly Room[],
  {
    intervalMs,
    until,
    label,
    expected,
    retries = 3,
  }: {
    intervalMs: number;
    until: () => boolean;
    label: string;
    expected: Expected[];
    retries?: number;
  },
): Promise<SendLoopReport> {
  const report: SendLoopReport = { attempted: 0, acked: 0, retried: 0, failed: 0, failures: [] };
  const pending: Promise<void>[] = [];
  const senders = rooms.flatMap((room) => room.members.map((member) => ({ room, member })));
  const sendOne = async (room: Room, member: Participant, text: string): Promise<void> => {
    const ref = randomUUID();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const message: Message = await member.rt.send({ conversationId: room.id, text, ref });
        report.acked += 1;
        expected.push({ message, recipients: room.members.map((m) => m.user.user.id) });
        return;
      } catch (err) {
        if (attempt < retries) {
          report.retried += 1;
          await sleep(500 * (attempt + 1));
          continue;
        }
        report.failed += 1;
        if (report.failures.length < 10) report.failures.push(String(err));
        return;
      }
    }
  };
  await Promise.all(
    senders.map(async ({ room, member }, index) => {
      await sleepUnless(Math.floor((index / senders.length) * intervalMs), until);
      let n = 0;
      while (!until()) {
        n += 1;
        report.attempted += 1;
        pending.push(sendOne(room, member, `${label} ${member.user.username} #${n}`));
        await sleepUnless(intervalMs, until);
      }
    }),
  );
  await Promise.all(pending);
  return report;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps `ms`, cut short (checked every 200 ms) once `stop()` is true. */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
}

export interface RssSample {
  /** Seconds since sampling started. */
  t: number;
  /** MiB per process label (missing while a process is down). */
  rss: Record<string, number>;
}

export interface RssSampler {
  readonly samples: readonly RssSample[];
  stop(): RssSample[];
}

/** Samples VmRSS of every process of the stack every `intervalMs` (from /proc/<pid>/status). */
export function sampleRss(stack: Stack, intervalMs = 1_000): RssSampler {
  const started = Date.now();
  const samples: RssSample[] = [];
  const take = () => {
    const rss: Record<string, number> = {};
    for (const service of stack.all) {
      const value = rssMiB(service.pid);
      if (value !== undefined) rss[service.label] = value;
    }
    samples.push({ t: Math.round((Date.now() - started) / 100) / 10, rss });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export interface RssVerdict {
  label: string;
  /** RSS at the first sample after warm-up and at the end, MiB. */
  start: number;
  end: number;
  peak: number;
  firstQuarterMedian: number;
  lastQuarterMedian: number;
  /** firstQuarterMedian × 1.3 + 20 MiB: the last quarter's median must stay at or below it. */
  bound: number;
  flat: boolean;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * "Memory flat": after the warm-up, the median of the last quarter of samples is at
 * most the first quarter's median × 1.3 + 20 MiB. Medians ignore a GC spike; the
 * margins absorb heap sizing, while a leak proportional to traffic grows past them.
 */
export function rssVerdicts(samples: readonly RssSample[], warmUpSeconds: number): RssVerdict[] {
  const steady = samples.filter((s) => s.t >= warmUpSeconds);
  const labels = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
  return labels.map((label) => {
    const values = steady.map((s) => s.rss[label]).filter((v): v is number => v !== undefined);
    const quarter = Math.max(1, Math.floor(values.length / 4));
    const firstQuarterMedian = median(values.slice(0, quarter));
    const lastQuarterMedian = median(values.slice(-quarter));
    const bound = Math.round((firstQuarterMedian * 1.3 + 20) * 10) / 10;
    return {
      label,
      start: values[0] ?? 0,
      end: values.at(-1) ?? 0,
      peak: Math.max(...values),
      firstQuarterMedian,
      lastQuarterMedian,
      bound,
      flat: lastQuarterMedian <= bound,
    };
  });
}

/** Writes the curve as CSV (t, one column per process) and returns the path. */
export function writeRssCurve(samples: readonly RssSample[], file: string): string {
  const labels = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
  const rows = samples.map((s) => [s.t, ...labels.map((l) => s.rss[l] ?? '')].join(','));
  writeFileSync(
    file,
    `${['t_seconds', ...labels.map((l) => `${l}_rss_mib`)].join(',')}\n${rows.join('\n')}\n`,
  );
  return file;
}

/** About `points` evenly spaced samples, one line each, for the test output. */
export function rssCurveText(samples: readonly RssSample[], points = 12): string {
  const step = Math.max(1, Math.floor(samples.length / points));
  return samples
    .filter((_s, i) => i % step === 0 || i === samples.length - 1)
    .map(
      (s) =>
        `  t=${String(s.t).padStart(6)}s  ${Object.entries(s.rss)
          .map(([label, mib]) => `${label} ${mib.toFixed(1)}`)
          .join('  ')}`,
    )
    .join('\n');
}
