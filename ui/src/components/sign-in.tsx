import { useState } from 'preact/hooks';
import { storeApiKey } from '../api/api-key';

/** Asks for an API key after a 401; kept in sessionStorage for this tab only. */
export function SignIn({ refused, onSignedIn }: { refused: boolean; onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(trimmed)) {
      setProblem('Enter the API key (letters, digits and - . _ ~ + / only).');
      return;
    }
    try {
      storeApiKey(trimmed);
    } catch {
      setProblem('This browser does not allow keeping the key for the session (sessionStorage).');
      return;
    }
    setKey('');
    onSignedIn();
  };
  return (
    <section class="panel sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p>
        This service requires an API key. The key is kept in this tab only (sessionStorage) and sent
        as <code>Authorization: Bearer …</code> with every call.
      </p>
      {refused ? (
        <p class="note note-error" role="alert" data-testid="signin-refused">
          The service refused that key. Check it and try again.
        </p>
      ) : null}
      <form onSubmit={submit} class="form">
        <label for="signin-key">API key</label>
        <input
          id="signin-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby={problem ? 'signin-problem' : undefined}
          data-testid="signin-key"
        />
        {problem ? (
          <p id="signin-problem" class="note note-error" role="alert">
            {problem}
          </p>
        ) : null}
        <button type="submit" class="button button-primary" data-testid="signin-submit">
          Sign in
        </button>
      </form>
    </section>
  );
}
