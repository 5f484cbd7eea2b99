import { MigrationInterface, QueryRunner } from 'typeorm';

export class RateLimitsAndEventsHandler1764220000000 implements MigrationInterface {
  name = 'RateLimitsAndEventsHandler1764220000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Rate limit of a category, a token bucket shared by every replica: rate_per_second NULL is
    // no limit; rate_burst the bucket's size; rate_tokens what was left at rate_refilled_at (a
    // claim refills by the time passed, takes what it claims, under the row's lock).
    // events_handler: where the category's events (task.failed, circuit changes) are POSTed.
    await queryRunner.query(`
      ALTER TABLE handlers
        ADD COLUMN rate_per_second double precision
          CHECK (rate_per_second >= 0.01 AND rate_per_second <= 100000),
        ADD COLUMN rate_burst integer CHECK (rate_burst BETWEEN 1 AND 100000),
        ADD COLUMN rate_tokens double precision NOT NULL DEFAULT 0,
        ADD COLUMN rate_refilled_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN events_handler text,
        ADD CONSTRAINT handlers_rate_limit_complete
          CHECK ((rate_per_second IS NULL) = (rate_burst IS NULL))`);
    // Parked tasks (a held or rate-limited category's due backlog, run_at = 'infinity') by
    // category in due order: the rate-limited claim and the release read them here. Partial:
    // tasks that are not parked (nearly all) have no entry, so inserts do not pay for it.
    await queryRunner.query(`
      CREATE INDEX tasks_parked_idx ON tasks (cate, due_at, id)
      WHERE state = 'pending' AND run_at = 'infinity'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX tasks_parked_idx`);
    await queryRunner.query(`
      ALTER TABLE handlers DROP CONSTRAINT handlers_rate_limit_complete,
        DROP COLUMN rate_per_second, DROP COLUMN rate_burst, DROP COLUMN rate_tokens,
        DROP COLUMN rate_refilled_at, DROP COLUMN events_handler`);
  }
}
