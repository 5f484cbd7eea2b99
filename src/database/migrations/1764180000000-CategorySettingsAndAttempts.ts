import { MigrationInterface, QueryRunner } from 'typeorm';

export class CategorySettingsAndAttempts1764180000000 implements MigrationInterface {
  name = 'CategorySettingsAndAttempts1764180000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Per-category settings; NULL means "the service default". secrets: Standard Webhooks
    // signing secrets (whsec_…), newest first; two during a rotation.
    await queryRunner.query(`
      ALTER TABLE handlers
        ADD COLUMN max_attempts integer CHECK (max_attempts BETWEEN 1 AND 100),
        ADD COLUMN timeout_ms integer CHECK (timeout_ms BETWEEN 100 AND 600000),
        ADD COLUMN concurrency integer CHECK (concurrency BETWEEN 1 AND 10000),
        ADD COLUMN secrets text[] NOT NULL DEFAULT '{}' CHECK (cardinality(secrets) <= 2)`);

    // One row per delivery attempt. No foreign key: delivered tasks leave `tasks`, their history
    // stays here until the retention job prunes it.
    await queryRunner.query(`
      CREATE TABLE task_attempts (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id      bigint NOT NULL,
        cate         text NOT NULL,
        key          numeric(20, 0) NOT NULL,
        delivery_id  uuid NOT NULL,
        attempt      integer NOT NULL,
        started_at   timestamptz NOT NULL,
        duration_ms  integer NOT NULL,
        status_code  integer,
        outcome      text NOT NULL CHECK (outcome IN ('success', 'http_4xx', 'http_5xx', 'http_other', 'timeout',
                       'connection_error', 'blocked', 'no_handler', 'error')),
        error        text,
        created_at   timestamptz NOT NULL DEFAULT now()
      ) WITH (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05)`);
    await queryRunner.query(
      `CREATE INDEX task_attempts_cate_key_idx ON task_attempts (cate, key, id)`,
    );
    // Retention deletes by age; rows arrive in time order, so a BRIN index is tiny and enough.
    await queryRunner.query(
      `CREATE INDEX task_attempts_created_at_brin ON task_attempts USING brin (created_at)`,
    );
    // Retention of failed tasks reads them by age.
    await queryRunner.query(
      `CREATE INDEX tasks_failed_updated_at_idx ON tasks (updated_at) WHERE state = 'failed'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX tasks_failed_updated_at_idx`);
    await queryRunner.query(`DROP TABLE task_attempts`);
    await queryRunner.query(`
      ALTER TABLE handlers
        DROP COLUMN max_attempts, DROP COLUMN timeout_ms, DROP COLUMN concurrency,
        DROP COLUMN secrets`);
  }
}
