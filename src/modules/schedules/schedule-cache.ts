import { parseSchedule, ParsedSchedule } from './schedule-occurrences';

/** Parsing builds croner's pattern and proves the schedule fires: worth keeping per definition. */
const MAX_CACHED = 10_000;
const parsed = new Map<string, ParsedSchedule>();

export interface StoredSchedule {
  cron: string;
  timezone: string;
  /** Unix seconds; null: unbounded. */
  start_at: number | null;
  end_at: number | null;
}

/** A stored (so once validated) schedule, parsed; throws ScheduleError if it no longer parses. */
export function parsedSchedule(row: StoredSchedule): ParsedSchedule {
  const id = `${row.cron}\u0000${row.timezone}\u0000${row.start_at}\u0000${row.end_at}`;
  const cached = parsed.get(id);
  if (cached) return cached;
  const schedule = parseSchedule({
    cron: row.cron,
    timezone: row.timezone,
    startAt: row.start_at ?? undefined,
    endAt: row.end_at ?? undefined,
  });
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(id, schedule);
  return schedule;
}
