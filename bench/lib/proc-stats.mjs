// CPU and memory of a process from /proc (Linux): utime+stime ticks from
// /proc/<pid>/stat and VmRSS from /proc/<pid>/status. A sampler turns two readings
// into CPU % over the interval and keeps the peak RSS seen between them.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build

export function readProc(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs, rssKiB };
  } catch {
    return null;
  }
}

/** Pids whose command name is `comm` (e.g. beam.smp for RabbitMQ); read-only. */
export function findPidsByComm(comm) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The soft open-file limit a process runs with (/proc/<pid>/limits). */
export function openFileLimit(pid) {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? NaN);
  } catch {
    return null;
  }
}

export function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return null;
  }
}

/**
 * Samples every named pid every `everyMs` until stop(); stop() returns, per name,
 * CPU % of one core over the whole interval, CPU ms used, and peak and final RSS.
 */
export function startSampler(pidsByName, everyMs = 250) {
  const started = performance.now();
  const first = {};
  const peak = {};
  for (const [name, pid] of Object.entries(pidsByName)) {
    first[name] = readProc(pid);
    peak[name] = first[name]?.rssKiB ?? 0;
  }
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(pidsByName)) {
      const now = readProc(pid);
      if (now && now.rssKiB > peak[name]) peak[name] = now.rssKiB;
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const elapsedMs = performance.now() - started;
      const out = {};
      for (const [name, pid] of Object.entries(pidsByName)) {
        const last = readProc(pid);
        if (!first[name] || !last) continue;
        const cpuMs = last.cpuMs - first[name].cpuMs;
        out[name] = {
          cpuPercent: Math.round((cpuMs / elapsedMs) * 1000) / 10,
          cpuMs: Math.round(cpuMs),
          rssMiB: Math.round(last.rssKiB / 102.4) / 10,
          peakRssMiB: Math.round(Math.max(peak[name], last.rssKiB) / 102.4) / 10,
        };
      }
      return out;
    },
  };
}
