import { MigrationInterface, QueryRunner } from 'typeorm';

export class FailedTasksByCategoryIndex1764190000000 implements MigrationInterface {
  name = 'FailedTasksByCategoryIndex1764190000000';
  /** CREATE INDEX CONCURRENTLY cannot run in a transaction; it does not block task writes. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    // GET /tasks?cate=…&state=failed, the usual admin question, in id order: only failed rows,
    // so writes of pending and running tasks (the hot path) never touch it. A build cut short
    // leaves an invalid index behind; drop it so that a re-run starts clean.
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_failed_cate_id_idx`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY tasks_failed_cate_id_idx ON tasks (cate, id) WHERE state = 'failed'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS tasks_failed_cate_id_idx`);
  }
}
