import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, messageOf, token, type DashboardConfig, type ProcessInfo } from './api.ts';
import { ConfirmDialog, type Confirmation } from './confirm-dialog.tsx';
import { byName } from './format.ts';
import { LogsPanel } from './logs-panel.tsx';
import { ProcessTable } from './process-table.tsx';
import { TokenForm } from './token-form.tsx';

const REFRESH_MS = 3000;

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
  const [listError, setListError] = useState<string>();
  const [updated, setUpdated] = useState<Date>();
  const [refreshes, setRefreshes] = useState(0);
  const [group, setGroup] = useState('');
  const [selected, setSelected] = useState<string>();
  const [confirmation, setConfirmation] = useState<Confirmation>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  useEffect(() => {
    api.config().then(setConfig, (error) => setConfigError(messageOf(error)));
  }, []);

  const needsToken = config?.auth === 'token';
  const ready = config !== undefined && (!needsToken || bearer !== null);
  // Stopping is offered only behind a token: without one, anybody who can open the page could.
  const canStop = needsToken && bearer !== null;

  const signOut = useCallback((reason?: string) => {
    token.clear();
    setBearer(null);
    setProcesses(undefined);
    setSelected(undefined);
    setTokenError(reason);
  }, []);

  const failed = useCallback(
    (error: unknown, show: (message: string) => void) => {
      if (error instanceof ApiError && error.status === 401) signOut(error.message);
      else show(messageOf(error));
    },
    [signOut],
  );

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
          setListError(undefined);
          setUpdated(new Date());
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
  }, [ready, refreshes, failed]);

  const groups = useMemo(() => {
    const names = new Set((processes ?? []).flatMap((p) => (p.group === null ? [] : [p.group])));
    if (group) names.add(group);
    return [...names].sort();
  }, [processes, group]);
  const shown = (processes ?? []).filter((p) => !group || p.group === group);

  const stop = (title: string, message: string, action: string, run: () => Promise<{ stopped: string[] }>) =>
    setConfirmation({
      title,
      message,
      action,
      run: async () => {
        const { stopped } = await run();
        setNotice(stopped.length === 0 ? 'Nothing to stop.' : `Stopped ${stopped.join(', ')}.`);
        if (selected && stopped.includes(selected)) setSelected(undefined);
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
          {config?.auth === 'none' && <span class="pill">Read-only</span>}
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
            Read-only: this server has no API token, so the dashboard offers no stop buttons. Configure one (
            <code>HYDROPLANE_API_TOKEN</code> or <code>api_token</code> in the config) to stop processes from here.
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
                  <select value={group} onChange={(event) => setGroup(event.currentTarget.value)} aria-label="Filter by group">
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
                      stop(`Stop group ${group}?`, `Every process of the group ${group} is stopped and removed.`, 'Stop group', () =>
                        api.stopGroup(group),
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
                  onStop={(name) =>
                    stop(`Stop ${name}?`, `The process ${name} is stopped and its container removed.`, 'Stop process', () => api.stop(name))
                  }
                />
              )}
            </section>

            {selected && <LogsPanel key={selected} name={selected} onClose={() => setSelected(undefined)} />}
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
