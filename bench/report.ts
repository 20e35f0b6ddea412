/** What a scenario reports, and the two ways it is printed: a table for people, JSON lines for tools. */
import { round } from './stats.js';

export interface Target {
  op: '<=' | '>=';
  value: number;
}

export interface Metric {
  name: string;
  /** null: not measured (see `note`). */
  value: number | null;
  unit: string;
  /** Side-by-side figures: the same measure on the direct path and through the gateway. */
  direct?: number;
  gateway?: number;
  /** gateway / direct */
  ratio?: number;
  target?: Target;
  note?: string;
}

export function metric(
  name: string,
  value: number | null,
  unit: string,
  extra: Partial<Metric> = {},
): Metric {
  return { name, value: value === null ? null : round(value), unit, ...extra };
}

/** A side-by-side metric: value is the gateway's figure. */
export function sideBySide(name: string, direct: number, gateway: number, unit: string): Metric {
  return metric(name, gateway, unit, {
    direct: round(direct),
    gateway: round(gateway),
    ratio: round(gateway / direct),
  });
}

export function notRun(name: string, reason: string): Metric {
  return { name, value: null, unit: '', note: `not run: ${reason}` };
}

export function met(m: Metric): boolean | undefined {
  if (!m.target || m.value === null) return undefined;
  return m.target.op === '<=' ? m.value <= m.target.value : m.value >= m.target.value;
}

export function jsonLine(m: Metric): string {
  const verdict = met(m);
  return JSON.stringify({ ...m, ...(verdict === undefined ? {} : { met: verdict }) });
}

const HEADERS = ['metric', 'direct', 'gateway', 'ratio', 'value', 'unit', 'target', ''];

export function table(metrics: readonly Metric[]): string {
  const rows = metrics.map((m) => {
    const verdict = met(m);
    return [
      m.name,
      show(m.direct),
      show(m.gateway),
      m.ratio === undefined ? '' : `${m.ratio}×`,
      m.value === null ? '—' : String(m.value),
      m.unit,
      m.target ? `${m.target.op === '<=' ? '≤' : '≥'} ${m.target.value}` : '',
      verdict === undefined ? (m.note ?? '') : `${verdict ? '✓' : '✗'}${m.note ? ` ${m.note}` : ''}`,
    ];
  });
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function show(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}
