import { MigrationInterface, QueryRunner } from 'typeorm';

export class ClaimTokens1764200000000 implements MigrationInterface {
  name = 'ClaimTokens1764200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // claim_token: bumped by every claim and never lowered (not by a release, an upsert or a
    // retry), so it names one claim of the row for good and fences that claim's completion or
    // release. leased_at: when the current claim started, for the attempt row a lost lease
    // leaves. Constant defaults: no table rewrite.
    await queryRunner.query(`
      ALTER TABLE tasks
        ADD COLUMN claim_token integer NOT NULL DEFAULT 0,
        ADD COLUMN leased_at timestamptz`);
    // A lost lease is an attempt of its own in the history.
    await queryRunner.query(`
      ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check,
        ADD CONSTRAINT task_attempts_outcome_check CHECK (outcome IN ('success', 'http_4xx',
          'http_5xx', 'http_other', 'timeout', 'connection_error', 'blocked', 'no_handler',
          'error', 'lease_expired')) NOT VALID`);
    await queryRunner.query(
      `ALTER TABLE task_attempts VALIDATE CONSTRAINT task_attempts_outcome_check`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM task_attempts WHERE outcome = 'lease_expired'`);
    await queryRunner.query(`
      ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check,
        ADD CONSTRAINT task_attempts_outcome_check CHECK (outcome IN ('success', 'http_4xx',
          'http_5xx', 'http_other', 'timeout', 'connection_error', 'blocked', 'no_handler',
          'error'))`);
    await queryRunner.query(`ALTER TABLE tasks DROP COLUMN claim_token, DROP COLUMN leased_at`);
  }
}
