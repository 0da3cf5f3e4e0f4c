import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from './api.ts';

const TAIL = 200;
// A followed log grows without end; the page keeps its last part.
const MAX_CHARS = 256 * 1024;

function keepEnd(text: string): string {
  if (text.length <= MAX_CHARS) return text;
  const cut = text.indexOf('\n', text.length - MAX_CHARS);
  return cut === -1 ? text.slice(-MAX_CHARS) : text.slice(cut + 1);
}

type State = 'loading' | 'following' | 'done' | 'failed';

/** The last lines of a process's log, optionally followed as they come. */
export function LogsPanel({
  name,
  follow,
  onFollow,
  onClose,
}: {
  name: string;
  /** Kept by the caller, in the address. */
  follow: boolean;
  onFollow: (follow: boolean) => void;
  onClose: () => void;
}) {
  const [reload, setReload] = useState(0);
  const [text, setText] = useState('');
  const [state, setState] = useState<State>('loading');
  const [error, setError] = useState<string>();
  const pre = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    const abort = new AbortController();
    setText('');
    setError(undefined);
    setState('loading');
    pinned.current = true;
    void (async () => {
      try {
        const response = await api.logs(name, { tail: TAIL, follow }, abort.signal);
        if (follow) setState('following');
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          setText((previous) => keepEnd(previous + value));
        }
        setState('done');
      } catch (err) {
        if (abort.signal.aborted) return;
        setError(messageOf(err));
        setState('failed');
      }
    })();
    return () => abort.abort();
  }, [name, follow, reload]);

  // Stay at the bottom while new lines come, unless the reader has scrolled up.
  useLayoutEffect(() => {
    const element = pre.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [text]);

  return (
    <section class="card logs" aria-label={`Logs of ${name}`}>
      <header>
        <h2>
          Logs <span class="subtle">{name}</span>
        </h2>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(event) => onFollow(event.currentTarget.checked)} /> Follow
        </label>
        <button type="button" onClick={() => setReload((n) => n + 1)}>
          Reload
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          Logs: {error}
        </p>
      )}
      {!error && (
        <pre
          ref={pre}
          class="log"
          onScroll={(event) => {
            const element = event.currentTarget;
            pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
          }}
        >
          {text || (state === 'done' ? '(no output)' : state === 'loading' ? 'Loading…' : '')}
        </pre>
      )}
      <p class="subtle small">
        {state === 'following' ? 'Following: new lines appear as the process writes them.' : `The last ${TAIL} lines.`}
      </p>
    </section>
  );
}
