import { useState } from 'preact/hooks';

/** Asks for the API token that the server requires. */
export function TokenForm({ error, onToken }: { error: string | undefined; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card token-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <h2>API token</h2>
      <p>
        This server needs its API token (<code>HYDROPLANE_API_TOKEN</code>). The dashboard keeps it in this tab only, and sends it with
        every request it makes.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
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
