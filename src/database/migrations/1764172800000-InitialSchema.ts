import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764172800000 implements MigrationInterface {
  name = 'InitialSchema1764172800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE handlers (
        cate        text PRIMARY KEY CHECK (cate ~ '^[A-Za-z0-9._:-]{1,128}$'),
        url         text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);

    // The hot table: pending, running (leased) and failed tasks only; delivered tasks are deleted.
    // key is a uint64, kept exactly as numeric(20,0). params is json (not jsonb) so that its text,
    // key order included, is delivered as stored. due_at is the task's time; run_at is when the
    // next attempt may start (due_at, or later after a failed attempt).
    await queryRunner.query(`
      CREATE TABLE tasks (
        id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        cate              text NOT NULL CHECK (cate ~ '^[A-Za-z0-9._:-]{1,128}$'),
        key               numeric(20, 0) NOT NULL CHECK (key >= 1 AND key <= 18446744073709551615),
        due_at            timestamptz NOT NULL,
        run_at            timestamptz NOT NULL,
        params            json NOT NULL,
        handler           text,
        in_advance        boolean NOT NULL DEFAULT false,
        state             text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'running', 'failed')),
        version           integer NOT NULL DEFAULT 1,
        attempts          integer NOT NULL DEFAULT 0,
        delivery_id       uuid NOT NULL DEFAULT gen_random_uuid(),
        lease_owner       text,
        lease_expires_at  timestamptz,
        last_error        text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        CHECK ((state = 'running') = (lease_expires_at IS NOT NULL))
      ) WITH (
        fillfactor = 85,
        autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_vacuum_insert_scale_factor = 0.05,
        autovacuum_analyze_scale_factor = 0.02
      )`);

    // Identity of a task: (cate, key). Tasks handed over by DELETE {exec:true} (in_advance) leave
    // that identity so that a new task under the same key is neither blocked nor merged.
    await queryRunner.query(
      `CREATE UNIQUE INDEX tasks_cate_key_uq ON tasks (cate, key) WHERE NOT in_advance`,
    );
    // The claim and next-due queries read only this small partial index.
    await queryRunner.query(
      `CREATE INDEX tasks_pending_run_at_idx ON tasks (run_at, id) WHERE state = 'pending'`,
    );
    // The lease sweeper reads only running rows.
    await queryRunner.query(
      `CREATE INDEX tasks_running_lease_idx ON tasks (lease_expires_at) WHERE state = 'running'`,
    );
    // Listing (GET /tasks) by category or by state, in id order, with keyset pagination.
    await queryRunner.query(`CREATE INDEX tasks_cate_id_idx ON tasks (cate, id)`);
    await queryRunner.query(`CREATE INDEX tasks_state_id_idx ON tasks (state, id)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE tasks`);
    await queryRunner.query(`DROP TABLE handlers`);
  }
}
