// The process table: one row per process (its status, group, image, times, addresses, and the
// buttons for its history, logs and stop), and below a row its history when open. Only the rows in
// and near the viewport, and the one that holds the keyboard focus, are in the page
// (row-window.ts); spacers stand for the others, and
// aria-rowcount and aria-rowindex tell screen readers where each rendered row is in the whole.
import { Component } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ProcessInfo } from './api.ts';
import { addressUrl, clockTime, ended, hostPort, timeUntil, twoUnitAge } from './format.ts';
import type { HistoryEntry } from './history.ts';
import { ariaRows, bodyParts, renderedRows, rowWindow, sameWindow, viewBand, type RowWindow } from './row-window.ts';

const NO_HISTORY: readonly HistoryEntry[] = [];
const COLUMNS = 8;
/** A row's height until one is measured: a one-line row, as most are. */
const FIRST_GUESS_PX = 48;
/** An open history's row, until measured: a few entries. */
const HISTORY_GUESS_PX = 120;
/**
 * Rows this far above and below the viewport are rendered too: a wheel step or a Tab to the next
 * row finds it there, and a row is mounted a while before it shows.
 */
const MARGIN_PX = 600;
/**
 * How many times in one frame the window may move because rows were measured: each move renders
 * other rows, which are measured in turn; should a layout never settle, the page still does.
 */
const MOVES_PER_FRAME = 4;

function StatusBadge({ process }: { process: ProcessInfo }) {
  const code = process.status === 'EXITED' && process.exit_code != null ? ` (${process.exit_code})` : '';
  return (
    <span class={`badge ${process.status.toLowerCase()}`} title={process.reason ?? undefined}>
      {process.status}
      {code}
    </span>
  );
}

function Addresses({ process }: { process: ProcessInfo }) {
  if (process.socket_addresses.length === 0) return <span class="subtle">none</span>;
  return (
    <ul class="addresses">
      {process.socket_addresses.map((address) => (
        <li key={`${address.host}:${address.port}:${address.is_public}`}>
          {address.is_public ? (
            <a href={addressUrl(address)} target="_blank" rel="noopener noreferrer">
              {hostPort(address)}
            </a>
          ) : (
            <span title="Reachable from the server's machine only">
              <code>{hostPort(address)}</code> <span class="subtle small">local</span>
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/** "stops in 12m": when the process's max_age_minutes ends it (the API's `expires`). */
function Expires({ process, now }: { process: ProcessInfo; now: number }) {
  if (process.expires === undefined || ended(process)) return null;
  return (
    <span class="expires">
      stops in{' '}
      <time dateTime={process.expires} title={`Stopped at ${process.expires} (max_age_minutes)`}>
        {timeUntil(process.expires, now)}
      </time>
    </span>
  );
}

/** "started 3m ago", and "ended 1m ago" once it has; the exact times on hover. */
function Times({ process, now }: { process: ProcessInfo; now: number }) {
  if (!process.started)
    return (
      <span class="times">
        <span class="subtle">not started</span>
        <Expires process={process} now={now} />
      </span>
    );
  return (
    <span class="times">
      <span>
        started{' '}
        <time dateTime={process.started} title={process.started}>
          {twoUnitAge(process.started, now)} ago
        </time>
      </span>
      {process.finished && (
        <span>
          ended{' '}
          <time dateTime={process.finished} title={process.finished}>
            {twoUnitAge(process.finished, now)} ago
          </time>
        </span>
      )}
      <Expires process={process} now={now} />
    </span>
  );
}

const TYPE_WORDS: Record<HistoryEntry['type'], string> = {
  created: 'created',
  running: 'started',
  exited: 'exited',
  failed: 'failed',
  stopped: 'stopped',
  removed: 'removed',
};

/** The process's last few events, newest first. */
function HistoryList({ name, entries, now }: { name: string; entries: readonly HistoryEntry[]; now: number }) {
  if (entries.length === 0) return <p class="subtle small">Nothing yet.</p>;
  return (
    <ol class="history" aria-label={`History of ${name}`}>
      {[...entries].reverse().map((entry) => (
        <li key={`${entry.type} ${entry.time}`} data-type={entry.type}>
          <time dateTime={entry.time} title={entry.time}>
            {clockTime(entry.time, now)}
          </time>{' '}
          <span class={`event ${entry.type}`}>{TYPE_WORDS[entry.type]}</span>
          {entry.exit_code != null && <span class="code"> with exit code {entry.exit_code}</span>}
          {entry.reason && <span class="subtle"> · {entry.reason}</span>}
        </li>
      ))}
    </ol>
  );
}

interface RowProps {
  process: ProcessInfo;
  /** The row's aria-rowindex; its history's row is the next. */
  rowIndex: number;
  now: number;
  selected: boolean;
  canStop: boolean;
  historyOpen: boolean;
  history: readonly HistoryEntry[];
  onLogs: (name: string) => void;
  onStop: (process: ProcessInfo) => void;
  onHistory: (name: string) => void;
}

function Row({ process, rowIndex, now, selected, canStop, historyOpen, history, onLogs, onStop, onHistory }: RowProps) {
  const historyId = `history-${process.process_name}`;
  return (
    <>
      <tr data-process={process.process_name} aria-rowindex={rowIndex} class={selected ? 'selected' : undefined}>
        <td class="name">{process.process_name}</td>
        <td>
          <StatusBadge process={process} />
          {process.reason && <div class="reason small">{process.reason}</div>}
        </td>
        <td>{process.group ?? <span class="subtle">—</span>}</td>
        <td class="image">{process.image ? <code title={process.image}>{process.image}</code> : <span class="subtle">—</span>}</td>
        <td title={process.created}>{twoUnitAge(process.created, now)}</td>
        <td>
          <Times process={process} now={now} />
        </td>
        <td>
          <Addresses process={process} />
        </td>
        <td class="actions">
          <button type="button" onClick={() => onHistory(process.process_name)} aria-expanded={historyOpen} aria-controls={historyId}>
            History
          </button>
          <button type="button" onClick={() => onLogs(process.process_name)} aria-pressed={selected}>
            Logs
          </button>
          {canStop && (
            <button type="button" class="danger" onClick={() => onStop(process)}>
              {ended(process) ? 'Remove' : 'Stop'}
            </button>
          )}
        </td>
      </tr>
      {historyOpen && (
        <tr class="history-row" id={historyId} data-history={process.process_name} aria-rowindex={rowIndex + 1}>
          <td colSpan={COLUMNS}>
            <HistoryList name={process.process_name} entries={history} now={now} />
          </td>
        </tr>
      )}
    </>
  );
}

// Re-rendered only when one of its own props changes: an event touches one row of possibly a thousand.
class ProcessRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const now = this.props as unknown as Record<string, unknown>;
    return Object.entries(next).some(([key, value]) => now[key] !== value);
  }
  override render() {
    return <Row {...this.props} />;
  }
}

/** The key of a row's measured height: with its history open, it is another height. */
const heightKey = (name: string, open: boolean) => (open ? `${name}\nopen` : name);

export function ProcessTable({
  processes,
  now,
  selected,
  canStop,
  history,
  historyOpen,
  onLogs,
  onStop,
  onHistory,
  onRendered,
}: {
  processes: readonly ProcessInfo[];
  now: number;
  selected: string | undefined;
  canStop: boolean;
  history: ReadonlyMap<string, readonly HistoryEntry[]>;
  historyOpen: ReadonlySet<string>;
  onLogs: (name: string) => void;
  onStop: (process: ProcessInfo) => void;
  onHistory: (name: string) => void;
  /** The processes whose rows are in the page, each time they change. */
  onRendered?: (rendered: readonly ProcessInfo[]) => void;
}) {
  const body = useRef<HTMLTableSectionElement>(null);
  // Each row's height as last rendered (with its history's row, when open), and their mean as the guess for the others.
  const measured = useRef({ heights: new Map<string, number>(), total: 0 });
  const guess = () => (measured.current.heights.size === 0 ? FIRST_GUESS_PX : measured.current.total / measured.current.heights.size);
  const heightsOf = (rows: readonly ProcessInfo[], open: ReadonlySet<string>) => {
    const mean = guess();
    return rows.map((p) => {
      const isOpen = open.has(p.process_name);
      return measured.current.heights.get(heightKey(p.process_name, isOpen)) ?? mean + (isOpen ? HISTORY_GUESS_PX : 0);
    });
  };
  const [range, setRange] = useState<RowWindow>(() => {
    const band = viewBand(0, innerHeight, MARGIN_PX);
    return rowWindow(heightsOf(processes, historyOpen), band.top, band.bottom);
  });

  // The process whose row holds the keyboard focus: it stays in the page wherever the viewport is.
  const [focused, setFocused] = useState<string | undefined>(undefined);
  const heights = heightsOf(processes, historyOpen);
  const focusedIndex = focused === undefined ? undefined : processes.findIndex((p) => p.process_name === focused);
  const rendered = renderedRows(range, focusedIndex, processes.length);
  const parts = bodyParts(heights, rendered);
  const open = processes.map((p) => historyOpen.has(p.process_name));
  const aria = ariaRows(open);

  // The window for where the body is now; set (and rendered) only when it changes.
  const place = useRef(() => {});
  place.current = () => {
    if (!body.current) return;
    const band = viewBand(body.current.getBoundingClientRect().top, innerHeight, MARGIN_PX);
    const next = rowWindow(heightsOf(processes, historyOpen), band.top, band.bottom);
    setRange((previous) => (sameWindow(previous, next) ? previous : next));
  };

  // After each render, before the paint: the rendered rows' heights, then the window for them.
  const reported = useRef<readonly ProcessInfo[]>([]);
  const moves = useRef(0);
  useLayoutEffect(() => {
    // From each row's top to the next one's (or the spacer's, or the body's end): collapsed borders are shared.
    const known = measured.current;
    const rows = [...(body.current?.querySelectorAll<HTMLTableRowElement>('tr[data-process]') ?? [])];
    const tops = rows.map((tr) => tr.getBoundingClientRect().top);
    rows.forEach((tr, i) => {
      const name = tr.dataset['process']!;
      let following = tr.nextElementSibling as HTMLElement | null;
      const withHistory = following?.dataset['history'] === name;
      if (withHistory) following = following!.nextElementSibling as HTMLElement | null;
      const bottom = (following ?? body.current!).getBoundingClientRect()[following ? 'top' : 'bottom'];
      const height = bottom - tops[i]!;
      const key = heightKey(name, withHistory);
      known.total += height - (known.heights.get(key) ?? 0);
      known.heights.set(key, height);
    });
    if (moves.current < MOVES_PER_FRAME) {
      if (moves.current++ === 0) requestAnimationFrame(() => (moves.current = 0));
      place.current();
    }
    const shown = rendered.map((i) => processes[i]!);
    if (shown.length !== reported.current.length || shown.some((p, i) => p !== reported.current[i])) {
      reported.current = shown;
      onRendered?.(shown);
    }
  });

  // Which row holds the focus: set as the focus comes into a row, cleared as it leaves the table.
  useEffect(() => {
    const tbody = body.current!;
    const rowName = (target: EventTarget | null) => {
      const tr = target instanceof Element ? target.closest<HTMLElement>('tr[data-process], tr[data-history]') : null;
      return tr ? (tr.dataset['process'] ?? tr.dataset['history']) : undefined;
    };
    const onIn = (event: FocusEvent) => setFocused(rowName(event.target));
    const onOut = (event: FocusEvent) => {
      if (!(event.relatedTarget instanceof Node && tbody.contains(event.relatedTarget))) setFocused(undefined);
    };
    tbody.addEventListener('focusin', onIn);
    tbody.addEventListener('focusout', onOut);
    return () => {
      tbody.removeEventListener('focusin', onIn);
      tbody.removeEventListener('focusout', onOut);
    };
  }, []);

  // Scrolling and resizing move the window, at most once a frame.
  useEffect(() => {
    let frame = 0;
    const onMove = () => {
      if (frame !== 0) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        place.current();
      });
    };
    addEventListener('scroll', onMove, { passive: true });
    addEventListener('resize', onMove);
    return () => {
      cancelAnimationFrame(frame);
      removeEventListener('scroll', onMove);
      removeEventListener('resize', onMove);
    };
  }, []);

  return (
    <table class="processes" aria-rowcount={aria.count} data-rows={processes.length}>
      <thead>
        <tr aria-rowindex={1}>
          <th>Process</th>
          <th>Status</th>
          <th>Group</th>
          <th>Image</th>
          <th>Age</th>
          <th>Ran</th>
          <th>Addresses</th>
          <th class="actions">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody ref={body}>
        {parts.map((part, k) => {
          if ('spacer' in part)
            return (
              // At most three: above everything, between the focused row and the window, below everything.
              <tr key={k === 0 ? 'before' : k === parts.length - 1 ? 'after' : 'between'} class="spacer" aria-hidden="true">
                <td colSpan={COLUMNS} style={{ height: `${part.spacer}px` }} />
              </tr>
            );
          const process = processes[part.row]!;
          const isOpen = open[part.row]!;
          return (
            <ProcessRow
              key={process.process_name}
              process={process}
              rowIndex={aria.indexes[part.row]!}
              now={now}
              selected={process.process_name === selected}
              canStop={canStop}
              historyOpen={isOpen}
              // Only an open history's entries matter to the row: a closed one is not re-rendered as they change.
              history={isOpen ? (history.get(process.process_name) ?? NO_HISTORY) : NO_HISTORY}
              onLogs={onLogs}
              onStop={onStop}
              onHistory={onHistory}
            />
          );
        })}
      </tbody>
    </table>
  );
}
