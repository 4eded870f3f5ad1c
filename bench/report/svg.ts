// The chart of a run, as a standalone SVG: one row per workload with three panels (mean call
// latency with its p99, token-weighted cache hit rate against the oracle, calls/s), one bar per
// routing logic, workflow_aware in the strong colour; then the overhead microbenchmark.

import type { SuiteResult } from '../suite.ts';
import { int, ms, num, pct } from './format.ts';

const COLORS: Record<string, string> = {
  roundrobin: '#9aa5b1',
  least_loaded: '#7b8794',
  session: '#c3a56b',
  prefix_aware: '#6b9ac4',
  workflow_aware: '#d9480f',
  direct: '#52606d',
  proxy: '#9aa5b1',
};
const SHORT: Record<string, string> = {
  roundrobin: 'RR',
  least_loaded: 'LL',
  session: 'Sess',
  prefix_aware: 'Prefix',
  workflow_aware: 'Workflow',
  direct: 'direct',
  proxy: 'proxy',
};

export const colorOf = (name: string): string => COLORS[name.replace(/^router:/, '')] ?? '#3e4c59';
const shortOf = (name: string): string => SHORT[name.replace(/^router:/, '')] ?? name;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Bar {
  name: string;
  value: number;
  label: string;
  /** A tail drawn as a pale bar behind (e.g. p99), with its own label. */
  marker?: number;
  markerLabel?: string;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
  title: string;
  bars: Bar[];
  /** A dashed horizontal reference (e.g. the oracle), with its label. */
  reference?: { value: number; label: string };
  max?: number;
}

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function panel(p: Panel): string {
  const out: string[] = [];
  const top = p.y + 22;
  const bottom = p.y + p.h - 20;
  const plotH = bottom - top - 14;
  const values = p.bars.flatMap((b) => [b.value, b.marker ?? 0]);
  if (p.reference) values.push(p.reference.value);
  const finite = values.filter((v) => Number.isFinite(v));
  const max = p.max ?? Math.max(1e-9, ...finite) * 1.1;
  const yOf = (v: number): number => bottom - (Math.max(0, Math.min(v, max)) / max) * plotH;
  out.push(
    `<text x="${p.x}" y="${p.y + 12}" ${FONT} font-size="12" font-weight="bold" fill="#1f2933">${escapeXml(p.title)}</text>`,
  );
  out.push(`<line x1="${p.x}" y1="${bottom}" x2="${p.x + p.w}" y2="${bottom}" stroke="#cbd2d9"/>`);
  const n = Math.max(1, p.bars.length);
  const slot = p.w / n;
  const bw = Math.min(44, slot * 0.72);
  if (p.reference && Number.isFinite(p.reference.value)) {
    const ry = yOf(p.reference.value);
    out.push(
      `<line x1="${p.x}" x2="${p.x + p.w}" y1="${ry.toFixed(1)}" y2="${ry.toFixed(1)}" stroke="#2f8132" stroke-dasharray="5 3" stroke-width="1.5"><title>${escapeXml(p.reference.label)}</title></line>`,
    );
  }
  p.bars.forEach((b, i) => {
    const cx = p.x + slot * (i + 0.5);
    const color = colorOf(b.name);
    const strong = b.name.endsWith('workflow_aware') ? ' font-weight="bold"' : '';
    const hasMarker = b.marker !== undefined && Number.isFinite(b.marker);
    const hasValue = Number.isFinite(b.value);
    const y = hasValue ? yOf(b.value) : bottom;
    let valueLabelY = y - 3;
    if (hasMarker) {
      // The tail (p99) as a pale bar behind the value, its label on top; when the value's own
      // label would collide with it, the value's label sits just under the tail's.
      const my = yOf(b.marker as number);
      let markerLabelY = my - 3;
      if (hasValue && y - my < 12) {
        valueLabelY = my - 3;
        markerLabelY = my - 14;
      }
      out.push(
        `<rect x="${(cx - bw / 2).toFixed(1)}" y="${my.toFixed(1)}" width="${bw.toFixed(1)}" height="${(bottom - my).toFixed(1)}" fill="${color}" fill-opacity="0.28" rx="2"><title>${escapeXml(`${b.name}: ${b.markerLabel ?? ''}`)}</title></rect>`,
        `<text x="${cx.toFixed(1)}" y="${markerLabelY.toFixed(1)}" ${FONT} font-size="9" text-anchor="middle" fill="#616e7c">${escapeXml(b.markerLabel ?? '')}</text>`,
      );
    }
    if (hasValue) {
      const w = hasMarker ? bw * 0.62 : bw;
      out.push(
        `<rect x="${(cx - w / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(bottom - y).toFixed(1)}" fill="${color}" rx="2"><title>${escapeXml(`${b.name}: ${b.label}`)}</title></rect>`,
        `<text x="${cx.toFixed(1)}" y="${valueLabelY.toFixed(1)}" ${FONT} font-size="10" text-anchor="middle" fill="#1f2933"${strong}>${escapeXml(b.label)}</text>`,
      );
    }
    out.push(
      `<text x="${cx.toFixed(1)}" y="${bottom + 13}" ${FONT} font-size="10" text-anchor="middle" fill="#52606d"${strong}>${escapeXml(shortOf(b.name))}</text>`,
    );
  });
  return out.join('\n');
}

export function renderSvg(result: SuiteResult): string {
  const width = 1000;
  const margin = 24;
  const colW = (width - margin * 2 - 40) / 3;
  const rowH = 190;
  const parts: string[] = [];
  let y = 20;
  parts.push(
    `<text x="${margin}" y="${y + 8}" ${FONT} font-size="18" font-weight="bold" fill="#1f2933">workflow-router benchmark: ${escapeXml(result.name)}</text>`,
  );
  y += 26;
  const c = result.cluster;
  parts.push(
    `<text x="${margin}" y="${y}" ${FONT} font-size="11" fill="#52606d">${escapeXml(`${c.pods} simulated pods (8B on H100 timing, ${c.kvBlocks} KV blocks each, time scale ${c.timeScale}); latency and calls/s in simulated time; ${result.machine.cores} cores, ${result.machine.cpu}; ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`)}</text>`,
  );
  y += 18;
  const logics = result.workloads[0]?.logics.map((l) => l.logic) ?? [];
  let lx = margin;
  for (const logic of logics) {
    const text = `${logic} (${shortOf(logic)})`;
    parts.push(`<rect x="${lx}" y="${y - 9}" width="11" height="11" fill="${colorOf(logic)}" rx="2"/>`);
    parts.push(
      `<text x="${lx + 15}" y="${y}" ${FONT} font-size="11" fill="#1f2933">${escapeXml(text)}</text>`,
    );
    lx += 15 + text.length * 6.4 + 16;
  }
  y += 16;
  parts.push(
    `<text x="${margin}" y="${y}" ${FONT} font-size="11" fill="#52606d">Latency: solid bar = mean, pale bar = p99. Hit rate: dashed line = the oracle (the most any placement could reuse).</text>`,
  );
  y += 14;
  for (const w of result.workloads) {
    parts.push(
      `<text x="${margin}" y="${y + 12}" ${FONT} font-size="14" font-weight="bold" fill="#1f2933">${escapeXml(w.title)}</text>`,
    );
    const py = y + 20;
    const oracle = Math.max(...w.logics.map((l) => l.oracleHitRate));
    parts.push(
      panel({
        x: margin,
        y: py,
        w: colW,
        h: rowH - 30,
        title: 'Call latency, ms (mean; p99 pale)',
        bars: w.logics.map((l) => ({
          name: l.logic,
          value: l.latency.mean,
          label: ms(l.latency.mean),
          marker: l.latency.p99,
          markerLabel: ms(l.latency.p99),
        })),
      }),
      panel({
        x: margin + colW + 20,
        y: py,
        w: colW,
        h: rowH - 30,
        title: `Cache hit rate (oracle ${pct(oracle)}, dashed)`,
        bars: w.logics.map((l) => ({ name: l.logic, value: l.hitRate, label: pct(l.hitRate) })),
        reference: { value: oracle, label: `oracle ${pct(oracle)}` },
        max: 1.08,
      }),
      panel({
        x: margin + (colW + 20) * 2,
        y: py,
        w: colW,
        h: rowH - 30,
        title: 'Throughput, calls/s',
        bars: w.logics.map((l) => ({ name: l.logic, value: l.callsPerSec, label: num(l.callsPerSec) })),
      }),
    );
    y += rowH;
  }
  const o = result.overhead;
  if (o) {
    parts.push(
      `<text x="${margin}" y="${y + 12}" ${FONT} font-size="14" font-weight="bold" fill="#1f2933">${escapeXml(`Router overhead (pods without delay; real time)`)}</text>`,
    );
    const py = y + 20;
    const json = o.measurements.filter((m) => !m.stream);
    const sse = o.measurements.filter((m) => m.stream);
    parts.push(
      panel({
        x: margin,
        y: py,
        w: colW,
        h: rowH - 30,
        title: `Capacity, calls/s (JSON, ${o.options.connections} conns)`,
        bars: json.map((m) => ({ name: m.target, value: m.callsPerSec, label: int(m.callsPerSec) })),
      }),
      panel({
        x: margin + colW + 20,
        y: py,
        w: colW,
        h: rowH - 30,
        title: `Capacity, calls/s (streamed)`,
        bars: sse.map((m) => ({ name: m.target, value: m.callsPerSec, label: int(m.callsPerSec) })),
      }),
      panel({
        x: margin + (colW + 20) * 2,
        y: py,
        w: colW,
        h: rowH - 30,
        title: `Added ms at ${o.options.rate}/s, JSON (p50; p99 pale)`,
        bars: json
          .filter((m) => m.target !== 'direct')
          .map((m) => ({
            name: m.target,
            value: Math.max(0, m.addedP50),
            label: m.addedP50.toFixed(1),
            marker: Math.max(0, m.addedP99),
            markerLabel: m.addedP99.toFixed(1),
          })),
      }),
    );
    y += rowH;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
