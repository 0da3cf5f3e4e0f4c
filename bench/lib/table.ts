// The one table the benchmark prints: per scenario, the raw figure, Hydroplane's, their ratio,
// the target and whether it is met.

export type Verdict = 'met' | 'missed' | 'info' | 'TODO' | 'error';

export interface Row {
  scenario: string;
  raw: string;
  hydroplane: string;
  /** hydroplane / raw, when both are numbers of the same kind. */
  ratio?: number;
  target: string;
  verdict: Verdict;
  /** Coefficient of variation of the repeated measures behind the figures (the larger side's). */
  cv?: number;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value < 10 ? `${value.toFixed(2)} ms` : value < 100 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function mb(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} MB` : '—';
}

function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}×`;
}

function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${Math.round(value * 100)}%`;
}

const MARK: Record<Verdict, string> = { met: 'met', missed: '**missed**', info: '(info)', TODO: '**TODO**', error: '**error**' };

/** A row judged by a ratio limit. */
export function ratioRow(scenario: string, raw: number, hydroplane: number, limit: number | undefined, cv: number, format = ms): Row {
  const r = hydroplane / raw;
  return {
    scenario,
    raw: format(raw),
    hydroplane: format(hydroplane),
    ratio: r,
    target: limit === undefined ? '' : `≤ ${limit.toFixed(2)}×`,
    verdict: limit === undefined ? 'info' : r <= limit ? 'met' : 'missed',
    cv,
  };
}

/** A Markdown table, so that it can go into bench/README.md as printed. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['scenario', 'raw', 'hydroplane', 'ratio', 'target', 'result', 'cv'];
  const cells = rows.map((r) => [r.scenario, r.raw, r.hydroplane, ratio(r.ratio), r.target, MARK[r.verdict], percent(r.cv)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
