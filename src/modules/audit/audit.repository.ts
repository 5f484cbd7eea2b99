import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rowsOf } from '../../database/query-rows';
import { retryTransient } from '../../database/transient-retry';
import * as sql from './audit.sql';

/** What one audit entry records; `at` and `id` come from the database. */
export interface AuditEntry {
  keyId: string | null;
  action: string;
  method: string;
  route: string;
  cate: string | null;
  target: string | null;
  /** JSON text of the request's fields, secrets masked. */
  changes: string;
  count: number | null;
  requestId: string | null;
}

export interface AuditRow {
  id: string;
  at: Date;
  key_id: string | null;
  action: string;
  method: string;
  route: string;
  cate: string | null;
  target: string | null;
  /** The stored jsonb as text. */
  changes: string;
  count: number | null;
  request_id: string | null;
  /** Rows the page's LIMIT took, before the cut by size. */
  fetched: number;
}

export interface AuditPageFilter {
  cate: string | undefined;
  /** Entries older than this id (the cursor); undefined for the first page. */
  beforeId: string | undefined;
  limit: number;
  maxBytes: number;
}

/** Above every bigserial id: the first page starts from the newest entry. */
const MAX_ID = '9223372036854775807';

@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts the entry (autocommit); answers its id. */
  async insert(entry: AuditEntry): Promise<string> {
    const rows = rowsOf<{ id: string }>(
      await retryTransient(() =>
        this.dataSource.query<unknown>(sql.INSERT_AUDIT_ENTRY, [
          entry.keyId,
          entry.action,
          entry.method,
          entry.route,
          entry.cate,
          entry.target,
          entry.changes,
          entry.count,
          entry.requestId,
        ]),
      ),
    );
    return rows[0].id;
  }

  /** A page newest first, cut at `limit` entries or about `maxBytes` (see listPage). */
  async list(filter: AuditPageFilter): Promise<AuditRow[]> {
    const before = filter.beforeId ?? MAX_ID;
    const result =
      filter.cate === undefined
        ? await this.dataSource.query<unknown>(sql.LIST_AUDIT, [
            before,
            filter.limit,
            filter.maxBytes,
          ])
        : await this.dataSource.query<unknown>(sql.LIST_AUDIT_OF_CATE, [
            filter.cate,
            before,
            filter.limit,
            filter.maxBytes,
          ]);
    return rowsOf<AuditRow>(result);
  }
}
