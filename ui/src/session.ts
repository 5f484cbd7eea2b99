import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { DashboardSession } from './api/dashboard-types';

export interface SessionInfo {
  /** null until GET /dashboard/session answered (or when the service lacks it). */
  session: DashboardSession | null;
  /** Read-only keys see no action buttons; unknown sessions see them (the service still checks). */
  canAct: boolean;
}

export const SessionContext = createContext<SessionInfo>({ session: null, canAct: false });

export const useSession = (): SessionInfo => useContext(SessionContext);
