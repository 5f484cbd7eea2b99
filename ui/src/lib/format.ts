/** Formatting of times, ages and numbers for display. Pure, so it is unit-tested. */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2026-11-26 17:13:09 UTC` (fractions of a second kept to the millisecond when present). */
export function formatUtc(date: Date): string {
  if (Number.isNaN(date.getTime())) return '—';
  const ms = date.getUTCMilliseconds();
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    (ms ? `.${pad(ms, 3)}` : '') +
    ' UTC'
  );
}

/** Local wall time with the zone offset, e.g. `2026-11-26 18:13:09 (UTC+01:00)`. */
export function formatLocal(date: Date): string {
  if (Number.isNaN(date.getTime())) return '—';
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ` +
    `(UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`
  );
}

/** Local time of day, for "as of" stamps: `17:13:09`. */
export function formatClock(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export const unixToDate = (seconds: number): Date => new Date(seconds * 1000);

/** A duration in seconds as `42 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Thousands separators, locale-independent so tests and screenshots are stable: `12,345`. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const [int, frac] = String(n).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac ? `${grouped}.${frac}` : grouped;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function formatRateLimit(limit: { perSecond: number; burst: number } | null): string {
  return limit ? `${formatCount(limit.perSecond)}/s, burst ${formatCount(limit.burst)}` : 'none';
}

/**
 * A `<input type="datetime-local">` value read as UTC (`2026-11-30T09:00` → 1796029200), whole
 * seconds; null when empty or invalid.
 */
export function utcInputToUnix(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0'] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
