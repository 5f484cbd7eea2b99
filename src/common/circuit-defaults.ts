/**
 * The service defaults of a category's circuit breaker (on unless the category turns it off):
 * consecutive failed attempts that open it, its first open period, and the cap the period
 * doubles up to on each failed probe.
 */
export const CIRCUIT_DEFAULTS = { failureThreshold: 20, cooldownMs: 30_000, maxOpenMs: 600_000 };
