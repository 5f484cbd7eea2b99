/**
 * The dashboard's own routes (/dashboard/*, GET /attempts), as openapi.json documents them
 * (generated into schema.d.ts by `npm run ui:api`).
 */
import type { components } from './schema';

type Schemas = components['schemas'];

export type CircuitState = Schemas['CircuitState'];
export type DashboardCategory = Schemas['OverviewCategory'];
export type DashboardOverview = Schemas['DashboardOverview'];
export type DashboardSeries = Schemas['DashboardSeries'];
export type DashboardForecast = Schemas['DashboardForecast'];
export type DashboardSession = Schemas['DashboardSession'];
