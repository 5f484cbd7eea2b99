import { MigrationInterface, QueryRunner } from 'typeorm';

export class DashboardStats1764250000000 implements MigrationInterface {
  name = 'DashboardStats1764250000000';

  /**
   * CREATE INDEX CONCURRENTLY cannot run in a transaction: task_attempts may hold millions of rows,
   * and a plain CREATE INDEX would hold up every attempt written (each delivery's completion) for
   * as long as the build takes. Every statement is written so that a re-run after a failure
   * half-way starts clean.
   */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The dashboard overview's task counts, one row (id 1): per category, in cate order, as of
    // taken_at (database clock). Refreshed by one replica at a time when a request finds it
    // older than a few seconds, so that the overview never counts a million rows on the request
    // path and task writes pay nothing for it (no trigger, no counter row to update).
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS dashboard_snapshots (
        id        smallint PRIMARY KEY CHECK (id = 1),
        taken_at  timestamptz NOT NULL,
        cates     text[] NOT NULL,
        pending   integer[] NOT NULL,
        due_now   integer[] NOT NULL,
        running   integer[] NOT NULL,
        failed    integer[] NOT NULL
      )`);
    // Delivery statistics for the dashboard's live charts: one row per replica and 10-second
    // bucket, flushed by the replica from memory (never on the delivery path). outcomes: attempt
    // counts by outcome; lateness: counts of first attempts per fixed lateness bucket (bounds in
    // src/modules/dashboard/lateness-histogram.ts), summed over replicas when read. The key
    // leads with the bucket: the series reads a time range across replicas, retention deletes
    // by age. Rows older than a day are deleted by the retention job.
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS dispatch_stats (
        bucket_start  timestamptz NOT NULL,
        replica_id    text NOT NULL,
        outcomes      jsonb NOT NULL DEFAULT '{}'::jsonb,
        lateness      integer[] NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bucket_start, replica_id)
      )`);
    // GET /attempts?cate=: a category's attempts newest first, keyset on id. The existing
    // (cate, key, id) index cannot yield a category's rows in id order.
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS task_attempts_cate_id_idx`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY task_attempts_cate_id_idx ON task_attempts (cate, id)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS task_attempts_cate_id_idx`);
    await queryRunner.query(`DROP TABLE IF EXISTS dispatch_stats`);
    await queryRunner.query(`DROP TABLE IF EXISTS dashboard_snapshots`);
  }
}
