import { useEffect, useState } from 'preact/hooks';
import { forgetApiKey } from './api/api-key';
import { getSession } from './api/calls';
import { authRequired, connection } from './api/client';
import { Header } from './components/header';
import { SignIn } from './components/sign-in';
import { usePoll } from './hooks/use-poll';
import { useRoute } from './hooks/use-route';
import { useStore } from './hooks/use-store';
import type { Route } from './lib/route';
import { AuditPage } from './pages/audit';
import { CategoryPage } from './pages/category';
import { OverviewPage } from './pages/overview';
import { FindTaskPage, TaskPage } from './pages/task';
import { SessionContext, type SessionInfo } from './session';

/** The session is re-read this often: it doubles as the header's connection check. */
const SESSION_POLL_MS = 5000;

function titleOf(route: Route): string {
  switch (route.page) {
    case 'overview':
      return 'Overview';
    case 'category':
      return `Category ${route.cate}`;
    case 'task':
      return `Task ${route.cate}/${route.key}`;
    case 'find-task':
      return 'Find a task';
    case 'audit':
      return 'Audit log';
    case 'not-found':
      return 'Not found';
  }
}

function PageFor({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'category':
      return <CategoryPage cate={route.cate} />;
    case 'task':
      return <TaskPage cate={route.cate} taskKey={route.key} />;
    case 'find-task':
      return <FindTaskPage cate={route.cate} />;
    case 'audit':
      return <AuditPage cate={route.cate} />;
    case 'not-found':
      return (
        <section class="panel" aria-labelledby="nf-title">
          <h1 id="nf-title">Page not found</h1>
          <p>
            There is no page at <code>{route.hash}</code>. <a href="#/">Go to the overview</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const auth = useStore(authRequired);
  const conn = useStore(connection);
  // Bumped on sign-in: every page remounts and loads again with the key.
  const [epoch, setEpoch] = useState(0);
  const session = usePoll(
    () => (auth.required ? Promise.resolve(null) : getSession()),
    auth.required ? 0 : SESSION_POLL_MS,
    [epoch, auth.required],
  );

  useEffect(() => {
    document.title = `${titleOf(route)} · delay-tasks`;
  }, [route]);

  const current = session.data ?? null;
  const info: SessionInfo = { session: current, canAct: current?.role !== 'readonly' };
  // Pages load only once the session answered, so a service with keys is asked once without
  // one (a single 401), not by every panel. A service without the session route (404) or
  // another error still gets the pages; no answer at all waits.
  const failed = session.error;
  const sessionKnown =
    session.data !== undefined || (failed !== null && failed.status !== 0 && failed.status !== 401);
  const signIn = () => {
    authRequired.set({ required: false, refused: false });
    setEpoch((e) => e + 1);
  };
  const signOut = () => {
    forgetApiKey();
    authRequired.set({ required: true, refused: false });
  };
  let content;
  if (auth.required) content = <SignIn refused={auth.refused} onSignedIn={signIn} />;
  // Keyed by the route too: another category or task starts with fresh state (forms, paging).
  else if (sessionKnown)
    content = <PageFor key={`${epoch}:${JSON.stringify(route)}`} route={route} />;
  else {
    content = (
      <p class="note" role="status" data-testid="connecting">
        {failed ? 'The service does not answer; retrying every 5 s…' : 'Connecting to the service…'}
      </p>
    );
  }

  return (
    <SessionContext.Provider value={info}>
      <a class="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <Header
        route={route}
        connection={conn}
        session={current}
        signedOut={auth.required}
        onSignOut={signOut}
      />
      <main id="main" tabIndex={-1}>
        {content}
      </main>
      <footer class="site-footer">
        <a href="/docs">API documentation</a>
      </footer>
    </SessionContext.Provider>
  );
}

/** The skip link must not change the hash (the router reads it). */
function skipToMain(e: MouseEvent) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}
