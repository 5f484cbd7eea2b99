import { Injectable, Logger } from '@nestjs/common';
import { decodeIdCursor, DEFAULT_PAGE_LIMIT, encodeCursor } from '../../common/page-query';
import { RawJson } from '../../common/raw-json';
import { stringifyJson } from '../../common/lossless-json';
import { AuditPage, AuditQueryDto, AuditEntryView } from './audit.dto';
import { AuditRepository, AuditRow } from './audit.repository';

const AUDIT_CURSOR = 'audit';
/** About the most bytes of entries in one page, as GET /tasks. */
export const AUDIT_PAGE_BYTES = 1024 * 1024;

/** An entry to record: what AuditRepository stores, with `changes` still as values. */
export interface AuditRecord {
  keyId: string | null;
  action: string;
  method: string;
  route: string;
  cate: string | null;
  target: string | null;
  changes: Record<string, unknown>;
  count: number | null;
  requestId: string | null;
}

@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(private readonly entries: AuditRepository) {}

  /**
   * Writes the entry after the action succeeded. The action is committed by then: a failed audit
   * write must not turn it into an error the client would retry, so it is logged instead, at
   * error level with the whole entry (secrets already removed, key id only), from which the
   * record can be restored. Deadlocks and lock timeouts are retried first (retryTransient).
   */
  async record(entry: AuditRecord): Promise<void> {
    const changes = stringifyJson(entry.changes);
    try {
      await this.entries.insert({ ...entry, changes });
    } catch (error) {
      this.logger.error({
        requestId: entry.requestId ?? undefined,
        msg: `audit entry of ${entry.action} not written: ${(error as Error)?.message}`,
        audit: { ...entry, changes },
      });
    }
  }

  /** Entries newest first, `limit` per page or about AUDIT_PAGE_BYTES; optionally one category. */
  async list(query: AuditQueryDto): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.entries.list({
      cate: query.cate,
      beforeId: query.cursor === undefined ? undefined : decodeIdCursor(query.cursor, AUDIT_CURSOR),
      limit,
      maxBytes: AUDIT_PAGE_BYTES,
    });
    const cutBySize = rows.length > 0 && rows.length < rows[0].fetched;
    const last = rows.length === limit || cutBySize ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toView),
      nextCursor: last ? encodeCursor(AUDIT_CURSOR, last.id) : null,
    };
  }
}

function toView(row: AuditRow): AuditEntryView {
  return {
    id: row.id,
    at: row.at.toISOString(),
    keyId: row.key_id,
    action: row.action,
    method: row.method,
    route: row.route,
    cate: row.cate,
    target: row.target,
    changes: new RawJson(row.changes), // the stored text: its numbers exactly as recorded
    count: row.count,
    requestId: row.request_id,
  };
}
