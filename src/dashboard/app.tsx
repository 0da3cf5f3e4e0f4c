import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf, token, type DashboardConfig, type ProcessInfo } from './api.ts';
import { ConfirmDialog, type Confirmation } from './confirm-dialog.tsx';
import { byName, ended } from './format.ts';
import { LogsPanel } from './logs-panel.tsx';
import { ProcessTable } from './process-table.tsx';
import { TokenForm } from './token-form.tsx';
import { formatView, parseView, sameView, type ViewState } from './view-state.ts';

const REFRESH_MS = 3000;
/** GET /process/{name} calls in flight at once, for the times a list leaves out. */
const DETAILS_AT_ONCE = 4;

/** One process in one state: its times do not change until its status does. */
const detailKey = (p: ProcessInfo) => `${p.process_name}\n${p.created}\n${p.status}`;

function withTimesOf(listed: ProcessInfo, detail: ProcessInfo | undefined): ProcessInfo {
  if (!detail) return listed;
  const out = { ...listed };
  if (detail.started !== undefined) out.started = detail.started;
  if (detail.finished !== undefined) out.finished = detail.finished;
  return out;
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
  const [processes, setProcesses] = useState<ProcessInfo[]>();
  // A runtime may leave the start and end times out of its list (Docker's list is one Engine
  // call, which has no times) and give them for one process: asked once per process and status.
  const [details, setDetails] = useState<ReadonlyMap<string, ProcessInfo>>(new Map());
  const asked = useRef(new Set<string>());
  const [listError, setListError] = useState<string>();
  const [updated, setUpdated] = useState<Date>();
  const [refreshes, setRefreshes] = useState(0);
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
    setProcesses(undefined);
    setTokenError(reason);
  }, []);

  const failed = useCallback(
    (error: unknown, show: (message: string) => void) => {
      if (error instanceof ApiError && error.status === 401) signOut(error.message);
      else show(messageOf(error));
    },
    [signOut],
  );

  /**
   * Asks GET /process/{name} for the times that the list left out, a few at a time, once per
   * process and status; forgets what is no longer listed, and asks again after a failure.
   */
  const fillTimes = async (list: ProcessInfo[], live: () => boolean) => {
    const listed = new Set(list.map(detailKey));
    for (const key of asked.current) if (!listed.has(key)) asked.current.delete(key);
    setDetails((previous) => (previous.size === 0 ? previous : new Map([...previous].filter(([key]) => listed.has(key)))));
    const missing = list.filter((p) => p.started === undefined && p.status !== 'STARTING' && !asked.current.has(detailKey(p)));
    for (const p of missing) asked.current.add(detailKey(p));
    for (let i = 0; i < missing.length && live(); i += DETAILS_AT_ONCE) {
      const batch = missing.slice(i, i + DETAILS_AT_ONCE);
      const answers = await Promise.allSettled(batch.map((p) => api.get(p.process_name)));
      const found: ProcessInfo[] = [];
      answers.forEach((answer, n) => {
        if (answer.status === 'fulfilled') found.push(answer.value);
        else asked.current.delete(detailKey(batch[n]!));
      });
      if (!live()) break;
      setDetails((previous) => new Map([...previous, ...found.map((p) => [detailKey(p), p] as const)]));
    }
    // Left before the end (a newer load took over): what was not answered is asked again next time.
    if (!live()) for (const p of missing) if (!details.has(detailKey(p))) asked.current.delete(detailKey(p));
  };

  useEffect(() => {
    if (!ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const load = async () => {
      if (!document.hidden) {
        try {
          const list = await api.list();
          if (!live) return;
          setProcesses(list.sort(byName));
          void fillTimes(list, () => live);
          setListError(undefined);
          setUpdated(new Date());
          if (linked.current) {
            linked.current = false;
            const missing = viewNow.current.logs;
            if (missing !== undefined && !list.some((p) => p.process_name === missing)) {
              setNotice(`The process ${missing} in the address is not listed: it has been stopped, or never ran.`);
              navigate({ logs: undefined }, 'replace');
            }
          }
        } catch (error) {
          if (live) failed(error, setListError);
        }
      }
      if (live) timer = setTimeout(load, REFRESH_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [ready, refreshes, failed, navigate]);

  const groups = useMemo(() => {
    const names = new Set((processes ?? []).flatMap((p) => (p.group === null ? [] : [p.group])));
    if (group) names.add(group);
    return [...names].sort();
  }, [processes, group]);
  const shown = (processes ?? [])
    .filter((p) => !group || p.group === group)
    .map((p) => (p.started === undefined ? withTimesOf(p, details.get(detailKey(p))) : p));

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
      setRefreshes((n) => n + 1);
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
                <span class="subtle small updated">
                  {updated ? `Updated ${updated.toLocaleTimeString()} · every ${REFRESH_MS / 1000} s` : 'Loading…'}
                </span>
              </div>
              {processes && shown.length === 0 && (
                <p class="empty">
                  {group ? `No processes in the group ${group}.` : 'No processes. Start one with hpctl start SPEC.json, or POST /process.'}
                </p>
              )}
              {shown.length > 0 && (
                <ProcessTable
                  processes={shown}
                  now={updated?.getTime() ?? Date.now()}
                  selected={selected}
                  canStop={canStop}
                  onLogs={(name) => setSelected(name === selected ? undefined : name)}
                  onStop={(process) =>
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
                        )
                  }
                />
              )}
            </section>

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
