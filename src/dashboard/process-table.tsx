import { Component } from 'preact';
import type { ProcessInfo } from './api.ts';
import { addressUrl, clockTime, ended, hostPort, timeUntil, twoUnitAge } from './format.ts';
import type { HistoryEntry } from './history.ts';

const NO_HISTORY: readonly HistoryEntry[] = [];
const COLUMNS = 8;

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
  now: number;
  selected: boolean;
  canStop: boolean;
  historyOpen: boolean;
  history: readonly HistoryEntry[];
  onLogs: (name: string) => void;
  onStop: (process: ProcessInfo) => void;
  onHistory: (name: string) => void;
}

function Row({ process, now, selected, canStop, historyOpen, history, onLogs, onStop, onHistory }: RowProps) {
  const historyId = `history-${process.process_name}`;
  return (
    <>
      <tr data-process={process.process_name} class={selected ? 'selected' : undefined}>
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
        <tr class="history-row" id={historyId} data-history={process.process_name}>
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
}) {
  return (
    <table class="processes">
      <thead>
        <tr>
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
      <tbody>
        {processes.map((process) => {
          const open = historyOpen.has(process.process_name);
          return (
            <ProcessRow
              key={process.process_name}
              process={process}
              now={now}
              selected={process.process_name === selected}
              canStop={canStop}
              historyOpen={open}
              // Only an open history's entries matter to the row: a closed one is not re-rendered as they change.
              history={open ? (history.get(process.process_name) ?? NO_HISTORY) : NO_HISTORY}
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
