import { useState } from 'preact/hooks';
import { tokenProblem } from '../api-token.ts';

/** Asks for the API token that the server requires. */
export function TokenForm({ error, onToken }: { error: string | undefined; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  // A token no header can carry is said here, before any request (the browser would refuse to send it).
  const [unsendable, setUnsendable] = useState<string | undefined>(undefined);
  const shownError = unsendable ?? error;
  return (
    <form
      class="card token-form"
      onSubmit={(event) => {
        event.preventDefault();
        const token = value.trim();
        const problem = tokenProblem(token);
        setUnsendable(problem === undefined ? undefined : `This token ${problem}.`);
        if (token && problem === undefined) onToken(token);
      }}
    >
      <h2>API token</h2>
      <p>
        This server needs its API token (<code>HYDROPLANE_API_TOKEN</code>). The dashboard keeps it in this tab only, and sends it with
        every request it makes.
      </p>
      {shownError && (
        <p class="error" role="alert">
          {shownError}
        </p>
      )}
      <div class="row">
        <input
          type="password"
          name="token"
          aria-label="API token"
          placeholder="API token"
          autocomplete="off"
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={!value.trim()}>
          Sign in
        </button>
      </div>
    </form>
  );
}
