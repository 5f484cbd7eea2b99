import { useTestApp } from './support/fixtures';

/**
 * A dispatching replica warms up before it reports ready: its dispatcher's connections are open
 * (the first claims do not wait for them) and the delivery path has run.
 */
describe('warm start', () => {
  const fixture = useTestApp();

  it('has every dispatcher connection open once the application is initialised', async () => {
    const rows = await fixture.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND application_name = 'delay-tasks-dispatch'`,
      [fixture.db.name],
    );
    expect(rows[0].n).toBe(4);
  });
});
