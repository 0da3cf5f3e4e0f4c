// Start or apply a process from the page: a JSON spec, sent as the desired state of the process
// it names (PUT /process/{process_name}, the server's apply). The server's own validation is the
// only one: its 422 names each offending field by path, and each message is shown next to the
// line of the text that holds that field (json-locate.ts); text that is not JSON is refused here,
// at the line where it stops being JSON.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf, type Applied, type FieldValidation } from './api.ts';
import { jsonSyntaxError, locateField } from './json-locate.ts';

export const EXAMPLE_SPEC = `{
  "process_name": "hello",
  "group": "examples",
  "container": {
    "image_uri": "nginxdemos/hello",
    "ports": [{ "container_port": 80 }]
  }
}
`;

interface Problem {
  /** The field as the server names it; '' for the spec as a whole. */
  path: string;
  message: string;
  /** The line it is at, when the text has it. */
  line: number | undefined;
  /** False when the field is missing and the line is that of the field that should hold it. */
  exact: boolean;
}

type Result = { kind: 'applied'; applied: Applied } | { kind: 'refused'; message: string; problems: Problem[] };

const OUTCOME_WORDS: Record<Applied['outcome'], string> = {
  created: 'Created',
  unchanged: 'Unchanged',
  replaced: 'Replaced',
};

/** What the editor says of the text before it is sent: not JSON, or no process_name to PUT it at. */
function localProblem(text: string): { name: string } | { message: string; problems: Problem[] } {
  const syntax = jsonSyntaxError(text);
  if (syntax) {
    return {
      message: 'The spec is not JSON.',
      problems: [{ path: '', message: syntax.message, line: syntax.position.line, exact: true }],
    };
  }
  const spec = JSON.parse(text) as unknown;
  const name =
    typeof spec === 'object' && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>)['process_name'] : undefined;
  if (typeof name !== 'string' || name === '') {
    return {
      message: 'The spec needs a process_name: it is applied as PUT /process/{process_name}.',
      problems: [{ path: 'process_name', message: 'required: a string, the name of the process', line: 1, exact: false }],
    };
  }
  return { name };
}

export function SpecEditor({
  text,
  onText,
  onApplied,
  onClose,
}: {
  /** Kept by the caller, so that closing the editor loses nothing. */
  text: string;
  onText: (text: string) => void;
  onApplied: (applied: Applied) => void;
  onClose: () => void;
}) {
  const [mode, setMode] = useState<FieldValidation>('Strict');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>();
  // The text the problems were found in: once it is edited, their lines may have moved.
  const [checked, setChecked] = useState<string>();
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const notes = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => area.current?.focus(), []);

  const lines = text.split(/\r\n|\r|\n/).length;
  const problems = result?.kind === 'refused' ? result.problems : [];
  const marked = new Map<number, Problem[]>();
  for (const problem of problems) {
    if (problem.line !== undefined) marked.set(problem.line, [...(marked.get(problem.line) ?? []), problem]);
  }
  const stale = checked !== undefined && checked !== text;

  const goToLine = (line: number) => {
    const element = area.current;
    if (!element) return;
    let offset = 0;
    for (let n = 1; n < line; n++) {
      const next = text.slice(offset).search(/\r\n|\r|\n/);
      if (next === -1) break;
      offset += next + (text.startsWith('\r\n', offset + next) ? 2 : 1);
    }
    element.focus();
    element.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(element).lineHeight) || 18;
    element.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  const apply = async () => {
    const local = localProblem(text);
    setChecked(text);
    if ('message' in local) {
      setResult({ kind: 'refused', ...local });
      return;
    }
    setBusy(true);
    setResult(undefined);
    try {
      const applied = await api.apply(local.name, text, mode);
      setResult({ kind: 'applied', applied });
      onApplied(applied);
    } catch (error) {
      const fields = error instanceof ApiError ? error.fields : [];
      setResult({
        kind: 'refused',
        message: messageOf(error),
        problems: fields.map((field) => {
          const at = locateField(text, field.path);
          return { ...field, line: at?.line, exact: at?.exact ?? false };
        }),
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card editor" aria-labelledby="editor-title">
      <header>
        <h2 id="editor-title">Start or apply a process</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      <p class="subtle small">
        The spec is the desired state of the process it names: absent, it is started; the same as the running one, nothing is touched;
        different, or ended, it is replaced. The server checks it, and its messages appear next to the lines they are about.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void apply();
        }}
      >
        <label for="spec-text" class="field-label">
          Process spec (JSON)
        </label>
        <div class="code-field">
          <div class="gutter" ref={gutter} aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => (
              <div key={i} class={marked.has(i + 1) ? (stale ? 'marked stale' : 'marked') : undefined} data-line={i + 1}>
                {marked.has(i + 1) ? '●' : ''}
                {i + 1}
              </div>
            ))}
          </div>
          <textarea
            id="spec-text"
            ref={area}
            value={text}
            rows={14}
            wrap="off"
            spellcheck={false}
            autocomplete="off"
            aria-describedby={problems.length > 0 ? 'spec-problems' : undefined}
            aria-invalid={problems.length > 0 && !stale}
            onInput={(event) => onText(event.currentTarget.value)}
            onScroll={(event) => {
              if (gutter.current) gutter.current.scrollTop = event.currentTarget.scrollTop;
              if (notes.current) notes.current.scrollTop = event.currentTarget.scrollTop;
            }}
            onKeyDown={(event) => {
              // Ctrl+Enter (or Cmd+Enter) applies, as in other editors' forms.
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                if (!busy) void apply();
              }
            }}
          />
          {/* Each message beside its line; the list below says the same for screen readers and keyboards. */}
          <div class="notes" ref={notes} aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => {
              const here = marked.get(i + 1);
              const words = here?.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join(' · ');
              return (
                <div key={i} data-line={i + 1} class={here ? (stale ? 'note-line stale' : 'note-line') : undefined} title={words}>
                  {words ?? ''}
                </div>
              );
            })}
          </div>
        </div>
        <div class="editor-actions">
          <label class="check" title="Strict refuses a spec with unknown fields; Warn drops them and says which">
            <input
              type="checkbox"
              checked={mode === 'Warn'}
              onChange={(event) => setMode(event.currentTarget.checked ? 'Warn' : 'Strict')}
            />{' '}
            Drop unknown fields with a warning instead of refusing them
          </label>
          <button type="button" onClick={() => onText(EXAMPLE_SPEC)} disabled={busy}>
            Example
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Applying…' : 'Apply'}
          </button>
        </div>
      </form>

      {result?.kind === 'applied' && (
        <div class="notice" role="status">
          {OUTCOME_WORDS[result.applied.outcome]} {result.applied.process_name}
          {result.applied.outcome === 'unchanged' ? ': it already runs this spec.' : '.'}
          {result.applied.warnings && result.applied.warnings.length > 0 && (
            <ul class="warnings" aria-label="Warnings">
              {result.applied.warnings.map((warning) => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {result?.kind === 'refused' && (
        <div class="error banner" role="alert" id="spec-problems">
          <p>{result.message}</p>
          {problems.length > 0 && (
            <ul class="problems" aria-label="Problems in the spec">
              {problems.map((problem, i) => (
                <li key={i} data-line={problem.line}>
                  {problem.line !== undefined ? (
                    <button type="button" class="link" onClick={() => goToLine(problem.line!)}>
                      Line {problem.line}
                    </button>
                  ) : null}
                  {problem.path && <code>{problem.path}</code>}
                  {problem.line !== undefined && !problem.exact && problem.path && <span class="subtle"> (missing; its place)</span>}:{' '}
                  {problem.message}
                </li>
              ))}
            </ul>
          )}
          {stale && <p class="subtle small">The spec changed since: apply it again to check it.</p>}
        </div>
      )}
    </section>
  );
}
