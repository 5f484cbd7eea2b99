import { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditLog1764240000000 implements MigrationInterface {
  name = 'AuditLog1764240000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Operator actions (category changes, retries, bulk operations), one row per successful
    // request; task upserts are not recorded. `at` is the database clock. key_id is a prefix of
    // the key's SHA-256, never the key; `changes` is the request's fields with secrets masked;
    // `count` the rows a bulk action affected.
    await queryRunner.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        key_id text,
        action text NOT NULL,
        method text NOT NULL,
        route text NOT NULL,
        cate text,
        target text,
        changes jsonb NOT NULL DEFAULT '{}'::jsonb,
        count integer,
        request_id text
      )`);
    // GET /audit?cate= pages newest first by id: (cate, id) serves the filtered keyset
    // (cate = $1 AND id < $cursor ORDER BY id DESC); the primary key serves the unfiltered one.
    await queryRunner.query(`CREATE INDEX audit_log_cate_id_idx ON audit_log (cate, id)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_log`);
  }
}
