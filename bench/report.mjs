// Turns a run's JSON into the markdown report and PNG charts beside it. run.mjs
// calls writeReport(); to redraw an older run: node bench/report.mjs results/X.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COLORS, lineChart, writePng } from './lib/charts.mjs';

const TARGET_LABELS = { raw: 'raw pipeline', rest: 'Parley REST send', ws: 'Parley WS send' };
const yes = (ok) => (ok ? '**met**' : '**missed**');
const n = (v, digits = 1) =>
  v === null || v === undefined
    ? '–'
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits });
const pct = (ratio) =>
  ratio === null || ratio === undefined ? '–' : `${Math.round(ratio * 1000) / 10} %`;

function table(headers, rows) {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

function stepRows(steps) {
  return steps.map((s) => [
    n(s.offeredRate),
    n(s.deliveredRate),
    n(s.sustainedRate),
    n(s.latencyMs.p50, 2),
    n(s.latencyMs.p90, 2),
    n(s.latencyMs.p99, 2),
    n(s.latencyMs.max, 1),
    `${s.errors}`,
    `${s.lost}`,
    `${s.duplicated}`,
    s.saturated ? 'yes' : '',
  ]);
}
const STEP_HEADERS = [
  'offered /s',
  'delivered in window /s',
  'sustained /s',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'max ms',
  'errors',
  'lost',
  'dup',
  'saturated',
];

function processTable(processes) {
  return table(
    ['process', 'CPU % of one core', 'RSS MiB (end)', 'peak RSS MiB'],
    Object.entries(processes ?? {}).map(([name, p]) => [
      name,
      n(p.cpuPercent),
      n(p.rssMiB),
      n(p.peakRssMiB),
    ]),
  );
}

function charts(results, base) {
  const written = [];
  const draw = (suffix, spec) => {
    const svg = lineChart(spec);
    if (!svg) return;
    writePng(svg, `${base}-${suffix}.png`);
    written.push({ suffix, title: spec.title });
  };
  const chat = results.scenarios.chat;
  if (chat) {
    const first = chat.repeats[0];
    const keys = Object.keys(first.ladders);
    draw('latency', {
      title: '1:1 delivery latency vs offered rate (repeat 1)',
      xLabel: 'offered messages/s (log)',
      yLabel: 'latency ms (log)',
      logX: true,
      logY: true,
      series: keys.flatMap((key, i) =>
        ['p50', 'p90', 'p99'].map((p, j) => ({
          name: `${TARGET_LABELS[key]} ${p}`,
          color: COLORS[i],
          dash: ['solid', 'dotted', 'dashed'][j],
          points: first.ladders[key].steps.map((s) => [s.offeredRate, s.latencyMs[p]]),
        })),
      ),
    });
    draw('delivered', {
      title: '1:1 delivered rate vs offered rate (repeat 1)',
      xLabel: 'offered messages/s (log)',
      yLabel: 'delivered messages/s (log)',
      logX: true,
      logY: true,
      series: [
        ...keys.map((key, i) => ({
          name: TARGET_LABELS[key],
          color: COLORS[i],
          points: first.ladders[key].steps.map((s) => [s.offeredRate, s.deliveredRate]),
        })),
        {
          name: 'offered (ideal)',
          color: '#999',
          dash: 'dotted',
          points: keys
            .flatMap((key) => first.ladders[key].steps)
            .map((s) => [s.offeredRate, s.offeredRate]),
        },
      ],
    });
  }
  const fanout = results.scenarios.fanout;
  if (fanout) {
    const first = fanout.repeats[0];
    const label = { room: 'Parley room', broadcast: 'bare ws broadcast' };
    draw('fanout', {
      title: `Room fan-out to ${fanout.members} sockets: deliveries/s (repeat 1)`,
      xLabel: 'offered messages/s (one sender)',
      yLabel: 'deliveries/s',
      logX: true,
      series: [
        ...['broadcast', 'room'].map((key, i) => ({
          name: label[key],
          color: COLORS[i],
          points: first[key].steps.map((s) => [s.offeredRate, s.sustainedRate]),
        })),
        {
          name: 'offered × members',
          color: '#999',
          dash: 'dotted',
          points: first.room.steps.map((s) => [s.offeredRate, s.offeredRate * fanout.members]),
        },
      ],
    });
    draw('fanout-latency', {
      title: 'Room fan-out latency vs offered rate (repeat 1)',
      xLabel: 'offered messages/s (one sender)',
      yLabel: 'latency ms (log)',
      logX: true,
      logY: true,
      series: ['broadcast', 'room'].flatMap((key, i) =>
        ['p50', 'p99'].map((p, j) => ({
          name: `${label[key]} ${p}`,
          color: COLORS[i],
          dash: j ? 'dashed' : 'solid',
          points: first[key].steps.map((s) => [s.offeredRate, s.latencyMs[p]]),
        })),
      ),
    });
  }
  return written;
}

export async function writeReport(results, base) {
  const name = path.basename(base);
  const pngs = charts(results, base);
  const lines = [];
  const say = (...more) => lines.push(...more);
  const load = results.machine;
  say(
    `# Parley benchmark ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`pnpm bench${results.config.quick ? ' --quick' : ''}\` (scenarios ${results.config.scenarios.join(', ')}; ` +
      `${results.config.repeats} repeat(s), ${results.config.stepMs / 1000} s steps, ${results.config.workers} load processes, ` +
      `1:1 sends addressed by ${results.config.address === 'username' ? 'username (`to`)' : 'conversationId'}). ` +
      `Took ${Math.floor(results.durationSeconds / 60)} min ${results.durationSeconds % 60} s.`,
    '',
    `Machine: ${load.cpus} × ${load.cpuModel}, ${load.memoryGiB} GiB, Node ${load.node}. ` +
      `Load average (1/5/15 min) at start ${load.loadAverageAtStart?.join(' / ')}, at end ${load.loadAverageAtEnd?.join(' / ')}.`,
    '',
    results.database === 'MongoDB at --mongo-url'
      ? 'Everything but the database ran on this machine over loopback; Parley and the raw ' +
          'pipeline shared the MongoDB given with --mongo-url. '
      : 'Everything ran on this one machine over loopback: the services, the FerretDB dev server ' +
          "(a MongoDB-compatible server, built with the repo's index patch: about 1 ms per " +
          'operation by `_id` or an indexed field, writes serialised through a proxy for ' +
          'atomicity, whole documents decoded in Go, so a 1,000-member room costs ~20 ms per read ' +
          'or write: it caps write throughput), RabbitMQ, the raw pipeline and the load ' +
          'generators. The raw pipeline ' +
          'uses the same FerretDB server and RabbitMQ, so the ratios compare like with like; ' +
          'absolute figures say little about a production MongoDB.',
    '',
    `Bench users were registered with bcrypt cost ${results.setup?.bcryptCost} (setup only, ` +
      `${results.setup?.registeredUsers} users in ${results.setup?.seconds} s); ` +
      `${results.setup?.mintedTokens} more idle-socket tokens were signed with auth's key. ` +
      `The login scenario uses cost ${results.config.bcryptCost}.`,
    '',
  );
  if (results.error) say('**The run failed:**', '', '```', results.error, '```', '');
  for (const note of results.notes) say(`- ${note}`);

  // ---- targets
  const rows = [];
  const chat = results.scenarios.chat?.summary;
  if (chat) {
    for (const key of ['rest', 'ws']) {
      const s = chat[key];
      rows.push([
        `1:1 ${key.toUpperCase()} saturated delivered rate ≥ 60 % of raw`,
        `${n(s.saturatedRate)} /s vs raw ${n(chat.rawSaturatedRate)} /s = ${pct(s.ratioToRaw)}`,
        yes(s.rateMet),
      ]);
      rows.push([
        `1:1 ${key.toUpperCase()} p99 at half of Parley's saturation ≤ 2 × raw p99`,
        `${n(s.halfRate)} /s: ${n(s.halfRateP99, 2)} ms vs raw ${n(s.halfRateRawP99, 2)} ms = ${n(s.p99Ratio, 2)} ×`,
        yes(s.latencyMet),
      ]);
    }
    const cost = chat.cost;
    if (cost) {
      for (const [when, label] of [
        ['fixed', `at ${results.config.fixed?.rate ?? 100} /s`],
        ['saturated', 'at saturation'],
      ]) {
        const rest = cost.rest?.[when];
        const raw = cost.raw?.[when];
        if (!rest) continue;
        rows.push([
          `≤ 1.2 MongoDB commands per 1:1 REST send, ${label}`,
          rest.mongoCommandsPerSend === null
            ? 'n/a (not exported)'
            : n(rest.mongoCommandsPerSend, 2),
          rest.mongoCommandsPerSend === null ? '–' : yes(rest.mongoCommandsPerSend <= 1.2),
        ]);
        rows.push([
          `websocket ≤ 0.2 AMQP acks per event, ${label}`,
          rest.amqpAcksPerEvent === null ? 'n/a (not exported)' : n(rest.amqpAcksPerEvent, 3),
          rest.amqpAcksPerEvent === null ? '–' : yes(rest.amqpAcksPerEvent <= 0.2),
        ]);
        if (when !== 'fixed' || !raw) continue;
        rows.push([
          `chat CPU per send ≤ 2 × raw, ${label}`,
          `${n(rest.storeCpuUsPerSend, 0)} µs vs raw ${n(raw.storeCpuUsPerSend, 0)} µs = ${n(rest.storeCpuUsPerSend / raw.storeCpuUsPerSend, 2)} ×`,
          yes(rest.storeCpuUsPerSend <= 2 * raw.storeCpuUsPerSend),
        ]);
        rows.push([
          `websocket CPU per 1:1 delivery ≤ 2 × bare ws, ${label}`,
          `${n(rest.pushCpuUsPerDelivery, 0)} µs vs raw ${n(raw.pushCpuUsPerDelivery, 0)} µs = ${n(rest.pushCpuUsPerDelivery / raw.pushCpuUsPerDelivery, 2)} ×`,
          yes(rest.pushCpuUsPerDelivery <= 2 * raw.pushCpuUsPerDelivery),
        ]);
      }
    }
    rows.push([
      '1:1 zero lost / duplicated',
      `${chat.lost} lost, ${chat.duplicated} duplicated`,
      yes(chat.lost === 0 && chat.duplicated === 0),
    ]);
  }
  const fan = results.scenarios.fanout?.summary;
  if (fan) {
    rows.push([
      `room fan-out deliveries/s ≥ ${pct(fan.targetRatio ?? 0.5)} of bare ws broadcast`,
      `${n(fan.roomDeliveriesPerSecond, 0)} /s vs ${n(fan.broadcastDeliveriesPerSecond, 0)} /s = ${pct(fan.ratio)}`,
      yes(fan.met),
    ]);
    rows.push([
      'fan-out zero lost / duplicated',
      `${fan.lost} lost, ${fan.duplicated} duplicated`,
      yes(fan.lost === 0 && fan.duplicated === 0),
    ]);
  }
  const conn = results.scenarios.connections?.summary;
  if (conn) {
    rows.push([
      `idle authenticated socket ≤ ${conn.targetKiB ?? 12} KiB RSS`,
      `${n(conn.rssPerConnectionKiB, 2)} KiB (bare ws ${n(conn.rawRssPerConnectionKiB, 2)} KiB)`,
      yes(conn.met),
    ]);
  }
  const peer = results.scenarios.peer?.summary;
  if (peer) {
    rows.push([
      `room fan-out to ${peer.clients} clients on one instance ≥ 50 % of ${peer.version}`,
      `${n(peer.parleyDeliveriesPerSecond, 0)} /s vs ${n(peer.peerDeliveriesPerSecond, 0)} /s = ${pct(peer.ratio)}`,
      yes(peer.met),
    ]);
  }
  if (rows.length) {
    say(
      '## Targets (medians of the repeats, this run)',
      '',
      table(['target', 'measured', 'result'], rows),
      '',
    );
  }
  for (const { suffix, title } of pngs) say(`![${title}](${name}-${suffix}.png)`, '');

  // ---- scenario 1
  const c = results.scenarios.chat;
  if (c) {
    say(
      `## 1. 1:1 chat: ${c.users} connected users in ${c.users / 2} pairs`,
      '',
      'Latency is from the scheduled send time (open loop) to the `message` frame at the ' +
        "recipient's socket, on the machine's monotonic clock. *Delivered in window* counts " +
        'deliveries inside the step; *sustained* is all deliveries over the time to the last ' +
        'one (the drain rate once overloaded). A step is *saturated* when less than ' +
        `${results.config.saturationShare * 100} % of the offered rate arrives in the window, p99 ` +
        `passes ${results.config.saturationP99Ms} ms, or more than 1 % of sends fail.`,
      '',
      `Connecting: Parley ${c.connect.parley.connected} sockets in ${n(c.connect.parley.elapsedMs / 1000, 2)} s, ` +
        `raw ${c.connect.raw.connected} in ${n(c.connect.raw.elapsedMs / 1000, 2)} s.`,
      '',
    );
    say(
      table(
        [
          '',
          'saturated /s (median)',
          'ratio to raw',
          'half rate /s',
          'p50 ms',
          'p99 ms',
          'raw p50 ms',
          'raw p99 ms',
        ],
        [
          ['raw pipeline', n(c.summary.rawSaturatedRate), '1', '', '', '', '', ''],
          ...['rest', 'ws'].map((key) => {
            const s = c.summary[key];
            return [
              TARGET_LABELS[key],
              n(s.saturatedRate),
              pct(s.ratioToRaw),
              n(s.halfRate),
              n(s.halfRateP50, 2),
              n(s.halfRateP99, 2),
              n(s.halfRateRawP50, 2),
              n(s.halfRateRawP99, 2),
            ];
          }),
        ],
      ),
      '',
    );
    c.repeats.forEach((repeat, r) => {
      for (const [key, l] of Object.entries(repeat.ladders)) {
        say(
          `### Repeat ${r + 1}: ${TARGET_LABELS[key]} (saturated at ${n(l.saturatedRate)} /s)`,
          '',
          table(STEP_HEADERS, stepRows(l.steps)),
          '',
        );
      }
    });
    const probe = c.databaseProbe;
    if (probe) {
      say(
        '### What one database operation costs here',
        '',
        'Timed from the bench process after the 1:1 ladders, with the stack idle (median of 7). ' +
          `Collection sizes: ${Object.entries(probe.sizes)
            .map(([name, count]) => `${name} ${n(count, 0)}`)
            .join(', ')}.`,
        '',
        table(
          ['operation', 'collection', 'ms'],
          probe.operations.map((o) => [o.operation, o.collection, n(o.medianMs, 2)]),
        ),
        '',
      );
    }
    for (const [ladder, label] of [
      ['rest', 'REST'],
      ['ws', 'WS'],
      ['raw', 'raw'],
    ]) {
      const sat = c.repeats[0].ladders[ladder].steps.at(-1);
      say(
        `### Processes during the last (saturated) ${label} step of repeat 1 (${n(sat.offeredRate)} /s offered)`,
        '',
        processTable(sat.processes),
        '',
      );
    }
  }

  // ---- what one message costs
  if (chat?.cost) {
    const cost = chat.cost;
    const cell = (v, digits = 2) => (v === null || v === undefined ? 'n/a' : n(v, digits));
    const rowsOf = (when) =>
      ['raw', 'rest', 'ws']
        .filter((key) => cost[key]?.[when])
        .map((key) => {
          const k = cost[key][when];
          return [
            TARGET_LABELS[key],
            cell(k.mongoCommandsPerSend),
            `${cell(k.amqpFramesPerEvent)} (${cell(k.amqpPublishesPerEvent)} / ${cell(k.amqpConfirmsPerEvent)} / ${cell(k.amqpDeliveriesPerEvent)} / ${cell(k.amqpAcksPerEvent, 3)})`,
            cell(k.storeCpuUsPerSend, 0),
            cell(k.pushCpuUsPerDelivery, 0),
          ];
        });
    const headers = [
      '',
      'MongoDB commands / send',
      'AMQP frames / event (publish / confirm / delivery / ack)',
      'store CPU µs / send (chat, raw-http)',
      'push CPU µs / delivery (websocket, raw-ws)',
    ];
    say(
      '## What one message costs',
      '',
      "Counters read from each process's /metrics before and after the step " +
        '(`parley_mongo_commands_total`, `parley_amqp_{publishes,confirms,deliveries,acks}_total`; ' +
        'the raw pipeline exports the same names), CPU from /proc over the step and its drain, ' +
        'divided by the accepted sends and the deliveries. n/a: the process does not export the counter. ' +
        'Medians of the repeats.',
      '',
      `### At ${results.config.fixed?.rate ?? 100} /s over ${results.config.fixed?.conversations ?? 50} conversations`,
      '',
      table(headers, rowsOf('fixed')),
      '',
      '### At saturation (the last step of each ladder)',
      '',
      table(headers, rowsOf('saturated')),
      '',
    );
    const breakdown = cost.rest?.fixed?.mongoByCommand ?? [];
    if (breakdown.length) {
      say(
        'MongoDB commands per REST send at the fixed rate, by command and collection: ' +
          breakdown.map((b) => `${b.command} ${b.collection} ${n(b.per, 3)}`).join(', ') +
          '.',
        '',
      );
    }
  }

  // ---- scenario 2
  const f = results.scenarios.fanout;
  if (f) {
    say(
      `## 2. Room fan-out: one room of ${f.members} members, one REST sender`,
      '',
      `Median saturated deliveries/s: Parley ${n(f.summary.roomDeliveriesPerSecond, 0)}, bare ws broadcast ` +
        `${n(f.summary.broadcastDeliveriesPerSecond, 0)} (${pct(f.summary.ratio)}). Rates below are messages/s offered; ` +
        'delivered and sustained columns are deliveries/s.',
      '',
    );
    f.repeats.forEach((repeat, r) => {
      for (const key of ['broadcast', 'room']) {
        say(
          `### Repeat ${r + 1}: ${key === 'room' ? 'Parley room' : 'bare ws broadcast'}`,
          '',
          table(STEP_HEADERS, stepRows(repeat[key].steps)),
          '',
        );
      }
    });
    const fc = f.summary.cost;
    if (fc) {
      say(
        table(
          ['push CPU µs per delivery', 'lowest step', 'saturated step'],
          [
            [
              'Parley websocket (room)',
              n(fc.room.low?.pushCpuUsPerDelivery, 1),
              n(fc.room.saturated?.pushCpuUsPerDelivery, 1),
            ],
            [
              'bare ws broadcast',
              n(fc.broadcast.low?.pushCpuUsPerDelivery, 1),
              n(fc.broadcast.saturated?.pushCpuUsPerDelivery, 1),
            ],
          ],
        ),
        '',
      );
    }
    const sat = f.repeats[0].room.steps.at(-1);
    say('### Processes during the last room step of repeat 1', '', processTable(sat.processes), '');
  }

  // ---- the peer
  const pr = results.scenarios.peer;
  if (pr?.skipped) say(`## Peer\n\n${pr.skipped}`, '');
  else if (pr) {
    say(
      `## Peer: room fan-out to ${pr.clients} clients on one instance, Parley vs ${pr.version}`,
      '',
      `Median saturated deliveries/s: Parley ${n(pr.summary.parleyDeliveriesPerSecond, 0)}, ` +
        `Centrifugo ${n(pr.summary.peerDeliveriesPerSecond, 0)} (${pct(pr.summary.ratio)}); last clean step ` +
        `${n(pr.summary.parleyLastCleanRate)} vs ${n(pr.summary.peerLastCleanRate)} messages/s; push CPU per delivery ` +
        `at the last clean step ${n(pr.summary.parleyCpuUsPerDelivery)} vs ${n(pr.summary.peerCpuUsPerDelivery)} µs. ` +
        'Parley stores every message (one REST send each); Centrifugo publishes through its server API and stores nothing.',
      '',
    );
    pr.repeats.forEach((repeat, r) => {
      for (const key of ['centrifugo', 'parley']) {
        say(
          `### Repeat ${r + 1}: ${key === 'parley' ? 'Parley room' : pr.version}`,
          '',
          table(STEP_HEADERS, stepRows(repeat[key].steps)),
          '',
        );
      }
    });
  }

  // ---- scenario 3
  const k = results.scenarios.connections;
  if (k) {
    say(
      `## 3. Connections: ${n(k.connections, 0)} idle authenticated sockets`,
      '',
      'Each repeat starts a fresh server process, measures its RSS, opens the sockets ' +
        '(64 at a time per load process), waits 3 s and measures again. Per socket = RSS delta / ' +
        'sockets. Handshake CPU = server CPU time while connecting / sockets (JWT verification ' +
        'included for Parley; the bare ws server checks nothing).' +
        (k.repeats[0].parley.serverOpenFileLimit
          ? ` Open-file limits: websocket ${k.repeats[0].parley.serverOpenFileLimit}, load ` +
            `processes ${k.repeats[0].parley.loadOpenFileLimits.join(', ')}.`
          : ''),
      '',
      table(
        [
          '',
          'sockets',
          'connect /s',
          'KiB per socket',
          'server CPU ms / handshake',
          'ready p50 ms',
          'ready p99 ms',
          'RSS before → after MiB',
        ],
        k.repeats.flatMap((r, i) =>
          ['raw', 'parley'].map((key) => [
            `${i + 1}: ${key === 'raw' ? 'bare ws' : 'Parley'}`,
            `${r[key].connected}${r[key].failed ? ` (${r[key].failed} failed)` : ''}`,
            n(r[key].connectRate, 0),
            n(r[key].rssPerConnectionKiB, 2),
            n(r[key].serverCpuMsPerConnection, 3),
            n(r[key].handshakeMs.p50, 2),
            n(r[key].handshakeMs.p99, 2),
            `${n(r[key].rssBeforeMiB)} → ${n(r[key].rssAfterMiB)}`,
          ]),
        ),
      ),
      '',
    );
  }

  // ---- scenario 4
  const a = results.scenarios.auth;
  if (a) {
    say(
      `## 4. Login and /auth/me at bcrypt cost ${a.bcryptCost}`,
      '',
      `Closed loop (callers back to back) to find the ceiling: login with ${a.repeats[0].login.concurrency} callers, ` +
        `/auth/me with ${a.repeats[0].me.concurrency}.`,
      '',
      table(
        ['repeat', 'login /s', 'login p50 / p99 ms', 'me /s', 'me p50 / p99 ms', 'errors'],
        a.repeats.map((r, i) => [
          `${i + 1}`,
          n(r.login.requestsPerSecond),
          `${n(r.login.latencyMs.p50)} / ${n(r.login.latencyMs.p99)}`,
          n(r.me.requestsPerSecond),
          `${n(r.me.latencyMs.p50, 2)} / ${n(r.me.latencyMs.p99, 2)}`,
          `${r.login.errors + r.me.errors}`,
        ]),
      ),
      '',
      `Median: login ${n(a.summary.loginPerSecond)} /s, /auth/me ${n(a.summary.mePerSecond)} /s.`,
      '',
    );
  }

  // ---- profile
  const p = results.scenarios.profile;
  if (p) {
    say(
      '## Where the time goes',
      '',
      `chat and websocket restarted under \`node --cpu-prof\` and driven with REST 1:1 sends at ${n(p.rate)} /s ` +
        `(Parley's saturated rate) for ${results.config.profileMs / 1000} s: delivered ${n(p.step.deliveredRate)} /s, ` +
        `p99 ${n(p.step.latencyMs.p99)} ms` +
        (p.roomStep
          ? `; then room fan-out at ${n(p.roomStep.offeredRate)} msg/s for as long ` +
            `(${n(p.roomStep.sustainedRate, 0)} deliveries/s; sections marked "room fan-out")`
          : '') +
        ". Self time, as a share of the process's busy (non-idle) time in that step.",
      '',
    );
    for (const [svc, s] of Object.entries(p.services)) {
      say(
        `### ${svc} (${n(s.busyMs / 1000, 1)} s busy of ${n(s.totalMs / 1000, 1)} s)`,
        '',
        table(
          ['owner', '% of busy'],
          s.owners.slice(0, 10).map((o) => [o.owner, n(o.percentOfBusy)]),
        ),
        '',
        table(
          ['function', 'where', 'owner', '% of busy'],
          s.top
            .slice(0, 15)
            .map((t) => [`\`${t.function}\``, `${t.file}:${t.line}`, t.owner, n(t.percentOfBusy)]),
        ),
        '',
      );
    }
  }
  say('Method and how to read this: [bench/README.md](../README.md).', '');
  writeFileSync(`${base}.md`, lines.join('\n'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/report.mjs bench/results/<date>.json');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(file, 'utf8'));
  await writeReport(results, file.replace(/\.json$/, ''));
  console.log(`wrote ${file.replace(/\.json$/, '.md')} and charts`);
}
