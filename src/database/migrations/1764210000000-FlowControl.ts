import { MigrationInterface, QueryRunner } from 'typeorm';

export class FlowControl1764210000000 implements MigrationInterface {
  name = 'FlowControl1764210000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Flow control state of a category, shared by every replica:
    // - paused: its due tasks are not claimed (they stay pending, no attempt spent).
    // - circuit_*: the circuit breaker. circuit_enabled false turns it off; threshold and cooldown
    //   NULL mean the service defaults. circuit_state closed | open | half_open; circuit_failures
    //   counts consecutive failed attempts; circuit_open_ms is the current open period (doubles
    //   on each failed probe); circuit_next_probe_at is when a probe may go (open), or when a
    //   probe whose replica vanished may be sent again (half_open).
    await queryRunner.query(`
      ALTER TABLE handlers
        ADD COLUMN paused boolean NOT NULL DEFAULT false,
        ADD COLUMN circuit_enabled boolean NOT NULL DEFAULT true,
        ADD COLUMN circuit_threshold integer CHECK (circuit_threshold BETWEEN 1 AND 100000),
        ADD COLUMN circuit_cooldown_ms integer
          CHECK (circuit_cooldown_ms BETWEEN 100 AND 600000),
        ADD COLUMN circuit_state text NOT NULL DEFAULT 'closed'
          CHECK (circuit_state IN ('closed', 'open', 'half_open')),
        ADD COLUMN circuit_failures integer NOT NULL DEFAULT 0,
        ADD COLUMN circuit_opened_at timestamptz,
        ADD COLUMN circuit_open_ms integer,
        ADD COLUMN circuit_next_probe_at timestamptz`);
    // Snoozes (425 Too Early) of the current occurrence: they spend no attempt, up to a cap.
    await queryRunner.query(`ALTER TABLE tasks ADD COLUMN snoozes integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check,
        ADD CONSTRAINT task_attempts_outcome_check CHECK (outcome IN ('success', 'http_4xx',
          'http_5xx', 'http_other', 'timeout', 'connection_error', 'blocked', 'no_handler',
          'error', 'lease_expired', 'gone', 'snoozed')) NOT VALID`);
    await queryRunner.query(
      `ALTER TABLE task_attempts VALIDATE CONSTRAINT task_attempts_outcome_check`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM task_attempts WHERE outcome IN ('gone', 'snoozed')`);
    await queryRunner.query(`
      ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check,
        ADD CONSTRAINT task_attempts_outcome_check CHECK (outcome IN ('success', 'http_4xx',
          'http_5xx', 'http_other', 'timeout', 'connection_error', 'blocked', 'no_handler',
          'error', 'lease_expired'))`);
    await queryRunner.query(`ALTER TABLE tasks DROP COLUMN snoozes`);
    await queryRunner.query(`
      ALTER TABLE handlers DROP COLUMN paused, DROP COLUMN circuit_enabled,
        DROP COLUMN circuit_threshold, DROP COLUMN circuit_cooldown_ms, DROP COLUMN circuit_state,
        DROP COLUMN circuit_failures, DROP COLUMN circuit_opened_at, DROP COLUMN circuit_open_ms,
        DROP COLUMN circuit_next_probe_at`);
  }
}
