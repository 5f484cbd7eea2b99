/**
 * Every API call the dashboard makes, through the typed client. The answers are parsed by
 * parseApiJson, so the types here say what that gives: task keys as exact decimal strings and
 * params/changes as RawJson, where the schema (generated for ordinary JSON) says number/object.
 */
import type { components } from './schema';
import type {
  DashboardForecast,
  DashboardOverview,
  DashboardSeries,
  DashboardSession,
} from './dashboard-types';
import { client, resultOf } from './client';
import type { RawJson } from '../lib/lossless-json';
import type { HandlerUpdate } from '../lib/handler-update';

type Schemas = components['schemas'];

export type TaskState = Schemas['TaskState'];
export type Task = Omit<Schemas['TaskView'], 'key' | 'params'> & { key: string; params: RawJson };
export type Attempt = Schemas['AttemptView'];
export type CategoryAttempt = Attempt & { key: string };
export type Handler = Schemas['HandlerView'];
export type AuditEntry = Omit<Schemas['AuditEntryView'], 'changes'> & { changes: RawJson };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface BulkRetryFilter {
  failedAfter?: number;
  failedBefore?: number;
}

export interface BulkDeleteFilter {
  state?: TaskState;
  dueAfter?: number;
  dueBefore?: number;
}

/**
 * A key goes out as its decimal text, never as a JavaScript number: in a path openapi-fetch only
 * stringifies it, and in a body the service accepts a decimal string for `key`. The schema types
 * it as number (format uint64), hence the cast.
 */
const wireKey = (key: string): number => key as unknown as number;

const PAGE_SIZE = 50;

export const getSession = () => resultOf<DashboardSession>(client.GET('/dashboard/session', {}));

export const getOverview = () => resultOf<DashboardOverview>(client.GET('/dashboard/overview', {}));

export const getSeries = (minutes: number) =>
  resultOf<DashboardSeries>(client.GET('/dashboard/series', { params: { query: { minutes } } }));

export const getForecast = () => resultOf<DashboardForecast>(client.GET('/dashboard/forecast', {}));

export const getHandler = (cate: string) =>
  resultOf<Handler>(client.GET('/handler/{cate}', { params: { path: { cate } } }));

export const registerHandler = (cate: string, body: HandlerUpdate) =>
  resultOf<void>(client.POST('/handler/{cate}', { params: { path: { cate } }, body }));

export const pauseHandler = (cate: string) =>
  resultOf<void>(client.POST('/handler/{cate}/pause', { params: { path: { cate } } }));

export const resumeHandler = (cate: string) =>
  resultOf<void>(client.POST('/handler/{cate}/resume', { params: { path: { cate } } }));

export const deleteHandler = (cate: string) =>
  resultOf<{ deleted: boolean }>(client.DELETE('/handler/{cate}', { params: { path: { cate } } }));

export const listTasks = (cate: string, state: TaskState, cursor?: string) =>
  resultOf<Page<Task>>(
    client.GET('/tasks', { params: { query: { cate, state, limit: PAGE_SIZE, cursor } } }),
  );

export const getTask = (cate: string, key: string) =>
  resultOf<Task>(
    client.GET('/task/{cate}/{key}', { params: { path: { cate, key: wireKey(key) } } }),
  );

export const getTaskAttempts = (cate: string, key: string, cursor?: string) =>
  resultOf<Page<Attempt>>(
    client.GET('/task/{cate}/{key}/attempts', {
      params: { path: { cate, key: wireKey(key) }, query: { limit: PAGE_SIZE, cursor } },
    }),
  );

export const retryTask = (cate: string, key: string) =>
  resultOf<void>(
    client.POST('/task/{cate}/{key}/retry', { params: { path: { cate, key: wireKey(key) } } }),
  );

/** DELETE /task/:cate; with `exec` the task is delivered now (inAdvance: true), then removed. */
export const deleteTask = (cate: string, key: string, exec: boolean) =>
  resultOf<{ deleted: boolean }>(
    client.DELETE('/task/{cate}', {
      params: { path: { cate } },
      body: { key: wireKey(key), exec },
    }),
  );

export const bulkRetry = (cate: string, filter: BulkRetryFilter, dryRun: boolean) =>
  resultOf<{ count: number }>(
    client.POST('/tasks/{cate}/retry', {
      params: { path: { cate } },
      body: { ...filter, dryRun },
    }),
  );

export const bulkDelete = (cate: string, filter: BulkDeleteFilter, dryRun: boolean) =>
  resultOf<{ count: number }>(
    client.POST('/tasks/{cate}/delete', {
      params: { path: { cate } },
      body: { ...filter, dryRun },
    }),
  );

export const listCategoryAttempts = (cate: string, cursor?: string) =>
  resultOf<Page<CategoryAttempt>>(
    client.GET('/attempts', { params: { query: { cate, limit: PAGE_SIZE, cursor } } }),
  );

export const listAudit = (cate: string, cursor?: string) =>
  resultOf<Page<AuditEntry>>(
    client.GET('/audit', {
      params: { query: { cate: cate || undefined, limit: PAGE_SIZE, cursor } },
    }),
  );
