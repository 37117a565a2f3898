// Line charts drawn as SVG by hand and rasterised to PNG with resvg (a prebuilt
// binary shipped inside its npm package: no native build, no download).
import { Resvg } from '@resvg/resvg-js';
import { writeFileSync } from 'node:fs';

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const DASHES = { solid: '', dashed: '7 4', dotted: '2 3' };

const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');

function ticks(min, max, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e += 1) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
      }
    }
    return out;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 7) ?? step * 10;
  const out = [];
  for (let v = Math.ceil(min / nice) * nice; v <= max + 1e-9; v += nice) out.push(v);
  return out;
}

const fmt = (v) =>
  v >= 1000 ? `${Math.round(v / 100) / 10}k`.replace('.0k', 'k') : `${Math.round(v * 100) / 100}`;

/**
 * series: [{ name, points: [[x, y]], color?, dash?: 'solid'|'dashed'|'dotted' }]
 */
export function lineChart({ title, xLabel, yLabel, series, logX = false, logY = false }) {
  const width = 900;
  const height = 520;
  const m = { left: 80, right: 220, top: 50, bottom: 60 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && (!logY || y > 0));
  if (all.length === 0) return null;
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (!logY) y0 = Math.min(0, y0);
  if (!logX) x0 = Math.min(0, x0);
  if (x1 === x0) x1 = x0 * 2 || 1;
  if (y1 === y0) y1 = y0 * 2 || 1;
  if (logY) [y0, y1] = [y0 / 1.2, y1 * 1.2];
  else y1 *= 1.05;
  const tx = (x) =>
    m.left +
    ((logX ? Math.log(x) - Math.log(x0) : x - x0) /
      (logX ? Math.log(x1) - Math.log(x0) : x1 - x0)) *
      (width - m.left - m.right);
  const ty = (y) =>
    height -
    m.bottom -
    ((logY ? Math.log(y) - Math.log(y0) : y - y0) /
      (logY ? Math.log(y1) - Math.log(y0) : y1 - y0)) *
      (height - m.top - m.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2 - m.right / 2}" y="28" font-size="18" text-anchor="middle">${esc(title)}</text>`,
  ];
  for (const v of ticks(x0, x1, logX)) {
    parts.push(
      `<line x1="${tx(v)}" y1="${m.top}" x2="${tx(v)}" y2="${height - m.bottom}" stroke="#eee"/>`,
      `<text x="${tx(v)}" y="${height - m.bottom + 18}" font-size="12" text-anchor="middle">${fmt(v)}</text>`,
    );
  }
  for (const v of ticks(y0, y1, logY)) {
    parts.push(
      `<line x1="${m.left}" y1="${ty(v)}" x2="${width - m.right}" y2="${ty(v)}" stroke="#eee"/>`,
      `<text x="${m.left - 8}" y="${ty(v) + 4}" font-size="12" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#888"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 18}" font-size="14" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(22 ${(m.top + height - m.bottom) / 2}) rotate(-90)" font-size="14" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => x > 0 && (!logY || y > 0)).sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return;
    const d = pts
      .map(([x, y], j) => `${j ? 'L' : 'M'}${tx(x).toFixed(1)} ${ty(y).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${DASHES[s.dash ?? 'solid']}"/>`,
      ...pts.map(([x, y]) => `<circle cx="${tx(x)}" cy="${ty(y)}" r="3" fill="${color}"/>`),
    );
    const ly = m.top + 10 + i * 20;
    parts.push(
      `<line x1="${width - m.right + 15}" y1="${ly}" x2="${width - m.right + 45}" y2="${ly}" stroke="${color}" stroke-width="2" stroke-dasharray="${DASHES[s.dash ?? 'solid']}"/>`,
      `<text x="${width - m.right + 52}" y="${ly + 4}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writePng(svg, file) {
  const png = new Resvg(svg, { font: { loadSystemFonts: true } }).render().asPng();
  writeFileSync(file, png);
}
