import type { Connection } from '../api/client';
import type { DashboardSession } from '../api/dashboard-types';
import type { Route } from '../lib/route';

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'connecting…',
  live: 'live',
  lost: 'lost the service — retrying',
};

function authText(session: DashboardSession | null, signedOut: boolean): string {
  if (signedOut) return 'signed out: an API key is needed';
  if (!session) return 'session unknown';
  if (session.auth === 'none') return 'open: no API keys configured';
  const role = session.role === 'admin' ? 'admin' : 'read-only';
  return `${role} key ${session.keyId ?? ''}`.trim();
}

export function Header({
  route,
  connection,
  session,
  signedOut,
  onSignOut,
}: {
  route: Route;
  connection: Connection;
  session: DashboardSession | null;
  signedOut: boolean;
  onSignOut: () => void;
}) {
  const current = (page: Route['page'] | Route['page'][]) =>
    ([] as string[]).concat(page).includes(route.page) ? 'page' : undefined;
  return (
    <header class="site-header">
      <div class="brand">
        <a href="#/" class="brand-name">
          delay-tasks
        </a>
        <span class="brand-sub">operator dashboard</span>
      </div>
      <nav aria-label="Main" class="main-nav">
        <a href="#/" aria-current={current('overview')} data-testid="nav-overview">
          Overview
        </a>
        <a href="#/task" aria-current={current(['find-task', 'task'])} data-testid="nav-task">
          Find a task
        </a>
        <a href="#/audit" aria-current={current('audit')} data-testid="nav-audit">
          Audit log
        </a>
      </nav>
      <div class="status-bar">
        <span
          class={`connection connection-${connection}`}
          role="status"
          aria-live="polite"
          data-testid="connection-state"
          data-state={connection}
        >
          <span class="dot" aria-hidden="true" />
          {CONNECTION_TEXT[connection]}
        </span>
        <span class="auth" data-testid="auth-state" data-role={session?.role ?? ''}>
          {authText(session, signedOut)}
        </span>
        {session?.auth === 'key' && !signedOut ? (
          <button
            type="button"
            class="button button-small"
            onClick={onSignOut}
            data-testid="sign-out"
          >
            Sign out
          </button>
        ) : null}
      </div>
    </header>
  );
}
