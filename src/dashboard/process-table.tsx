import type { ProcessInfo } from './api.ts';
import { addressUrl, ended, twoUnitAge, hostPort } from './format.ts';

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

/** "started 3m ago", and "ended 1m ago" once it has; the exact times on hover. */
function Times({ process, now }: { process: ProcessInfo; now: number }) {
  if (!process.started) return <span class="subtle">not started</span>;
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
    </span>
  );
}

export function ProcessTable({
  processes,
  now,
  selected,
  canStop,
  onLogs,
  onStop,
}: {
  processes: ProcessInfo[];
  now: number;
  selected: string | undefined;
  canStop: boolean;
  onLogs: (name: string) => void;
  onStop: (process: ProcessInfo) => void;
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
        {processes.map((process) => (
          <tr
            key={process.process_name}
            data-process={process.process_name}
            class={process.process_name === selected ? 'selected' : undefined}
          >
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
              <button type="button" onClick={() => onLogs(process.process_name)} aria-pressed={process.process_name === selected}>
                Logs
              </button>
              {canStop && (
                <button type="button" class="danger" onClick={() => onStop(process)}>
                  {ended(process) ? 'Remove' : 'Stop'}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
