// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and
// per owner (Parley's own code, a dependency, Node internals, GC, idle), so a report
// can say where the time goes without opening DevTools.
//
//   node bench/cpuprofile-summary.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Who a call frame belongs to, from its script URL. */
export function ownerOf({ functionName, url }) {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'program (native, unattributed)';
  if (!url) return 'node internals / native';
  if (url.startsWith('node:')) return 'node internals / native';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1];
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (plain) return plain[1];
  const own = /\/(services|packages)\/([^/]+)\//.exec(url);
  if (own) return `parley:${own[1]}/${own[2]}`;
  return 'other';
}

/**
 * `window` ({fromUs, toUs} on the monotonic clock, which V8's sample timestamps use
 * on Linux) keeps only the samples taken then, so start-up and shutdown stay out.
 */
export function summariseProfile(file, { top = 25, window } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const inWindow = (from) => {
    const selfUs = new Map();
    let at = profile.startTime;
    // timeDeltas[i] is the time before sample i; attribute it to that sample's node
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0;
      if (from && (at < from.fromUs || at > from.toUs)) return;
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    return selfUs;
  };
  let selfUs = inWindow(window);
  const windowed = Boolean(window) && selfUs.size > 0;
  if (!windowed) selfUs = inWindow(undefined);
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const functions = new Map();
  const owners = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const owner = ownerOf(callFrame);
    const file = callFrame.url
      ? callFrame.url
          .replace(/^file:\/\//, '')
          .replace(/^.*\/(services|packages|node_modules)\//, '$1/')
      : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${file}:${callFrame.lineNumber + 1}`;
    const entry = functions.get(key) ?? {
      function: callFrame.functionName || '(anonymous)',
      file,
      line: callFrame.lineNumber + 1,
      owner,
      selfMs: 0,
    };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
    owners.set(owner, (owners.get(owner) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - (owners.get('idle') ?? 0) * 1000) / 1000;
  const pct = (ms) => Math.round((ms / Math.max(busyMs, 1e-9)) * 1000) / 10;
  const ms = (v) => Math.round(v * 10) / 10;
  return {
    file: path.basename(file),
    windowed,
    totalMs: ms(totalUs / 1000),
    busyMs: ms(busyMs),
    owners: [...owners.entries()]
      .filter(([owner]) => owner !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([owner, selfMs]) => ({ owner, selfMs: ms(selfMs), percentOfBusy: pct(selfMs) })),
    top: [...functions.values()]
      .filter((f) => f.owner !== 'idle')
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: ms(f.selfMs), percentOfBusy: pct(f.selfMs) })),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, flag, value] = process.argv.slice(2); // whole profile from the CLI
  if (!file) {
    console.error('usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const summary = summariseProfile(file, { top: flag === '--top' ? Number(value) : 25 });
  console.log(`${summary.file}: ${summary.busyMs} ms busy of ${summary.totalMs} ms sampled\n`);
  console.log('self time by owner');
  for (const o of summary.owners)
    console.log(`  ${String(o.percentOfBusy).padStart(5)} %  ${o.owner}`);
  console.log('\ntop functions by self time');
  for (const f of summary.top)
    console.log(
      `  ${String(f.percentOfBusy).padStart(5)} %  ${f.function}  ${f.file}:${f.line}  [${f.owner}]`,
    );
}
