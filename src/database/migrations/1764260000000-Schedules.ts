import { MigrationInterface, QueryRunner } from 'typeorm';

export class Schedules1764260000000 implements MigrationInterface {
  name = 'Schedules1764260000000';

  /**
   * The task identity index is rebuilt CONCURRENTLY (outside a transaction): tasks may hold
   * millions of rows, and a plain CREATE INDEX would hold up every task write for the build.
   * Every statement is written so that a re-run after a failure half-way starts clean.
   */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Recurring schedules, (cate, key) their own namespace. next_run_at is the first occurrence
    // not yet created as a task (NULL: none left, endAt passed); the materializer creates the
    // occurrences due within its look-ahead and moves it forward in the same transaction, with
    // the row locked (FOR UPDATE SKIP LOCKED), so no two replicas create the same occurrence. It
    // only moves back on pause, to the earliest occurrence withdrawn (never delivered).
    // params is json (not jsonb), delivered as stored, as for tasks.
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS schedules (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        cate         text NOT NULL CHECK (cate ~ '^[A-Za-z0-9._:-]{1,128}$'),
        key          numeric(20, 0) NOT NULL
                       CHECK (key >= 1 AND key <= 18446744073709551615),
        cron         text NOT NULL,
        timezone     text NOT NULL,
        params       json NOT NULL,
        handler      text,
        missed       text NOT NULL CHECK (missed IN ('skip', 'once', 'all')),
        start_at     timestamptz,
        end_at       timestamptz,
        paused       boolean NOT NULL DEFAULT false,
        next_run_at  timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (cate, key)
      )`);
    // The materializer's look: schedules whose next occurrence falls within its look-ahead.
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS schedules_next_run_idx ON schedules (next_run_at)
      WHERE NOT paused AND next_run_at IS NOT NULL`);

    // An occurrence is an ordinary task row with schedule_id set and due_at the occurrence time.
    // The column is nullable with no default: adding it rewrites nothing.
    await queryRunner.query(`ALTER TABLE tasks ADD COLUMN IF NOT EXISTS schedule_id bigint`);
    // One task per (schedule, occurrence): a second insert of an occurrence is a no-op (ON
    // CONFLICT DO NOTHING) whatever replica or path attempts it.
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_schedule_occurrence_uq`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX CONCURRENTLY tasks_schedule_occurrence_uq ON tasks (schedule_id, due_at)
      WHERE schedule_id IS NOT NULL`);
    // Occurrences still waiting for their first attempt by time: the materializer's look for
    // occurrences missed while every replica was down (created ahead, then not started in time).
    // Ordinary tasks have no entry, and its columns are already indexed (no HOT update lost).
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_occurrence_run_idx`);
    await queryRunner.query(`
      CREATE INDEX CONCURRENTLY tasks_occurrence_run_idx ON tasks (run_at)
      WHERE schedule_id IS NOT NULL AND state = 'pending'`);
    // Task identity (cate, key) now excludes occurrences: a schedule (orders, 42) and a task
    // (orders, 42) are separate. Built under a new name before the old one goes, so the upsert's
    // conflict target always has an index to infer.
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_identity_uq`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX CONCURRENTLY tasks_identity_uq ON tasks (cate, key)
      WHERE NOT in_advance AND schedule_id IS NULL`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_cate_key_uq`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM tasks WHERE schedule_id IS NOT NULL`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_cate_key_uq`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX CONCURRENTLY tasks_cate_key_uq ON tasks (cate, key) WHERE NOT in_advance`,
    );
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_identity_uq`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_schedule_occurrence_uq`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_occurrence_run_idx`);
    await queryRunner.query(`ALTER TABLE tasks DROP COLUMN IF EXISTS schedule_id`);
    await queryRunner.query(`DROP TABLE IF EXISTS schedules`);
  }
}
