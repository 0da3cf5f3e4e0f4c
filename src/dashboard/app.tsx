import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf, token, type DashboardConfig, type ProcessInfo } from './api.ts';
import { ConfirmDialog, type Confirmation } from './confirm-dialog.tsx';
import type { Connection } from './event-stream.ts';
import { ended, timeOfDay } from './format.ts';
import { LogsPanel } from './logs-panel.tsx';
import { ProcessTable } from './process-table.tsx';
import { EXAMPLE_SPEC, SpecEditor } from './spec-editor.tsx';
import { TokenForm } from './token-form.tsx';
import { REFRESH_MS, useProcesses } from './use-processes.ts';
import { formatView, parseView, sameView, type ViewState } from './view-state.ts';

/** How often the ages are counted again (the rows change by themselves as events come). */
const CLOCK_MS = 5000;

function ConnectionState({ connection, updated }: { connection: Connection; updated: Date | undefined }) {
  const words: Record<Connection, string> = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    polling: updated ? `Updated ${timeOfDay(updated)} · every ${REFRESH_MS / 1000} s` : 'Loading…',
  };
  const titles: Record<Connection, string> = {
    connecting: 'Opening the event stream (GET /events)',
    live: 'Changes arrive as they happen (GET /events)',
    reconnecting: 'The event stream broke; opening it again',
    polling: 'No event stream: the list is read every few seconds',
  };
  return (
    <span class={`subtle small updated connection ${connection}`} data-connection={connection} title={titles[connection]}>
      {connection === 'live' && <span class="dot" aria-hidden="true" />}
      {words[connection]}
    </span>
  );
}

function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" />
      <path d="M6 20c4-5 8-5 10 0s6 5 10 0" />
    </svg>
  );
}

export function App() {
  const [config, setConfig] = useState<DashboardConfig>();
  const [configError, setConfigError] = useState<string>();
  const [bearer, setBearer] = useState(token.get());
  const [tokenError, setTokenError] = useState<string>();
  const [historyOpen, setHistoryOpen] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState(false);
  const [specText, setSpecText] = useState(EXAMPLE_SPEC);
  const [now, setNow] = useState(Date.now());
  // The group filter and the open log live in the address (view-state.ts); the history holds each view.
  const [view, setView] = useState<ViewState>(() => parseView(location.search));
  // A view that came from the address names a process that the next list may not have.
  const linked = useRef(true);
  const [confirmation, setConfirmation] = useState<Confirmation>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  useEffect(() => {
    api.config().then(setConfig, (error) => setConfigError(messageOf(error)));
    const onPop = () => {
      linked.current = true;
      setView(parseView(location.search));
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const viewNow = useRef(view);
  viewNow.current = view;
  const { group, logs: selected, follow } = view;
  const navigate = useCallback((change: Partial<ViewState>, mode: 'push' | 'replace' = 'push') => {
    const next = { ...viewNow.current, ...change };
    if (next.logs === undefined) next.follow = false;
    if (sameView(viewNow.current, next)) return;
    const url = `${location.pathname}${formatView(next)}${location.hash}`;
    if (mode === 'push') history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    viewNow.current = next;
    setView(next);
  }, []);
  const setSelected = useCallback((name: string | undefined) => navigate({ logs: name, follow: false }), [navigate]);

  const needsToken = config?.auth === 'token';
  const ready = config !== undefined && (!needsToken || bearer !== null);
  // Without a token the server answers only loopback names (or allowed_hosts) and refuses other
  // sites' requests, so whoever has the page can reach the API anyway: the buttons add nothing.
  const canStop = config?.auth === 'none' || (needsToken && bearer !== null);

  const signOut = useCallback((reason?: string) => {
    token.clear();
    setBearer(null);
    setTokenError(reason);
  }, []);

  const failed = useCallback(
    (error: unknown, show: (message: string) => void) => {
      if (error instanceof ApiError && error.status === 401) signOut(error.message);
      else show(messageOf(error));
    },
    [signOut],
  );

  const onList = useCallback(
    (list: readonly ProcessInfo[]) => {
      if (!linked.current) return;
      linked.current = false;
      const missing = viewNow.current.logs;
      if (missing !== undefined && !list.some((p) => p.process_name === missing)) {
        setNotice(`The process ${missing} in the address is not listed: it has been stopped, or never ran.`);
        navigate({ logs: undefined }, 'replace');
      }
    },
    [navigate],
  );
  const {
    rows: processes,
    history: histories,
    connection,
    updated,
    listError,
    refresh,
    rendered,
  } = useProcesses({ ready, group, onList, onFailure: failed });

  useEffect(() => {
    const timer = setInterval(() => {
      if (!document.hidden) setNow(Date.now());
    }, CLOCK_MS);
    return () => clearInterval(timer);
  }, []);

  // Stable, so that the rows (memoized) are not re-rendered for a new function each time.
  const selectedNow = useRef(selected);
  selectedNow.current = selected;
  const onLogs = useCallback((name: string) => setSelected(name === selectedNow.current ? undefined : name), [setSelected]);
  const onHistory = useCallback(
    (name: string) =>
      setHistoryOpen((open) => {
        const next = new Set(open);
        if (!next.delete(name)) next.add(name);
        return next;
      }),
    [],
  );

  const groups = useMemo(() => {
    const names = new Set((processes ?? []).flatMap((p) => (p.group === null ? [] : [p.group])));
    if (group) names.add(group);
    return [...names].sort();
  }, [processes, group]);
  const shown = useMemo(() => (processes ?? []).filter((p) => !group || p.group === group), [processes, group]);

  const stop = (title: string, message: string, action: string, done: 'Stopped' | 'Removed', run: () => Promise<{ stopped: string[] }>) =>
    setConfirmation({
      title,
      message,
      action,
      pending: done === 'Removed' ? 'Removing…' : 'Stopping…',
      run: async () => {
        const { stopped } = await run();
        setNotice(stopped.length === 0 ? 'Nothing to stop.' : `${done} ${stopped.join(', ')}.`);
        if (selected && stopped.includes(selected)) navigate({ logs: undefined }, 'replace');
      },
    });

  const onStopNow = useRef<(process: ProcessInfo) => void>(() => {});
  onStopNow.current = (process: ProcessInfo) =>
    ended(process)
      ? stop(
          `Remove ${process.process_name}?`,
          `The process ${process.process_name} has ended: its container is removed, and it is no longer listed.`,
          'Remove process',
          'Removed',
          () => api.stop(process.process_name),
        )
      : stop(
          `Stop ${process.process_name}?`,
          `The process ${process.process_name} is stopped and its container removed.`,
          'Stop process',
          'Stopped',
          () => api.stop(process.process_name),
        );
  const onStop = useCallback((process: ProcessInfo) => onStopNow.current(process), []);

  const confirm = async () => {
    if (!confirmation) return;
    setBusy(true);
    setActionError(undefined);
    setNotice(undefined);
    try {
      await confirmation.run();
    } catch (error) {
      failed(error, setActionError);
    } finally {
      setBusy(false);
      setConfirmation(undefined);
      refresh();
    }
  };

  return (
    <>
      <header class="top">
        <div class="brand">
          <Logo />
          <span>Hydroplane</span>
          {config && <span class="version">v{config.version}</span>}
        </div>
        <div class="session">
          {config?.auth === 'none' && <span class="pill">No API token</span>}
          {canStop && (
            <>
              <span class="pill ok">Signed in with the API token</span>
              <button type="button" class="ghost" onClick={() => signOut()}>
                Forget token
              </button>
            </>
          )}
        </div>
      </header>

      <main>
        {configError && (
          <p class="error banner" role="alert">
            The server's dashboard settings could not be read: {configError}
          </p>
        )}
        {config?.auth === 'none' && (
          <p class="note">
            No API token: this server answers only this machine's addresses (and <code>allowed_hosts</code>) and refuses other sites' pages,
            so anyone here can stop processes, as with the API. Set <code>HYDROPLANE_API_TOKEN</code> to require one.
          </p>
        )}
        {needsToken && bearer === null && (
          <TokenForm
            error={tokenError}
            onToken={(value) => {
              token.set(value);
              setTokenError(undefined);
              setBearer(value);
            }}
          />
        )}

        {ready && (
          <>
            {listError && (
              <p class="error banner" role="alert">
                {listError}
              </p>
            )}
            {actionError && (
              <p class="error banner" role="alert">
                {actionError}
              </p>
            )}
            {notice && (
              <p class="notice" role="status">
                {notice}
              </p>
            )}

            <section class="card">
              <div class="toolbar">
                <h1>Processes</h1>
                <label>
                  Group{' '}
                  <select value={group} onChange={(event) => navigate({ group: event.currentTarget.value })} aria-label="Filter by group">
                    <option value="">All groups</option>
                    {groups.map((name) => (
                      <option key={name} value={name}>
                        {name}
                      </option>
                    ))}
                  </select>
                </label>
                {canStop && group && (
                  <button
                    type="button"
                    class="danger"
                    onClick={() =>
                      stop(
                        `Stop group ${group}?`,
                        `Every process of the group ${group} is stopped and removed.`,
                        'Stop group',
                        'Stopped',
                        () => api.stopGroup(group),
                      )
                    }
                  >
                    Stop group
                  </button>
                )}
                {canStop && !editing && (
                  <button type="button" onClick={() => setEditing(true)}>
                    Start / apply
                  </button>
                )}
                <ConnectionState connection={connection} updated={updated} />
              </div>
              {processes && shown.length === 0 && (
                <p class="empty">
                  {group
                    ? `No processes in the group ${group}.`
                    : `No processes. Start one${canStop ? ' with Start / apply,' : ''} with hpctl start SPEC.json, or POST /process.`}
                </p>
              )}
              {shown.length > 0 && (
                <ProcessTable
                  processes={shown}
                  now={now}
                  selected={selected}
                  canStop={canStop}
                  history={histories}
                  historyOpen={historyOpen}
                  onLogs={onLogs}
                  onHistory={onHistory}
                  onStop={onStop}
                  onRendered={rendered}
                />
              )}
            </section>

            {editing && canStop && (
              <SpecEditor text={specText} onText={setSpecText} onApplied={() => refresh()} onClose={() => setEditing(false)} />
            )}

            {selected && (
              <LogsPanel
                key={selected}
                name={selected}
                follow={follow}
                onFollow={(value) => navigate({ follow: value }, 'replace')}
                onClose={() => setSelected(undefined)}
              />
            )}
          </>
        )}
      </main>

      {confirmation && (
        <ConfirmDialog
          confirmation={confirmation}
          busy={busy}
          onCancel={() => setConfirmation(undefined)}
          onConfirm={() => void confirm()}
        />
      )}
    </>
  );
}
