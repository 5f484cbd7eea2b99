import { MigrationInterface, QueryRunner } from 'typeorm';

export class EventsOutbox1764230000000 implements MigrationInterface {
  name = 'EventsOutbox1764230000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The transactional outbox of category events (task.failed, category.circuit_opened|closed):
    // a row is inserted in the transaction of the state change it reports, and the events
    // dispatcher sends it, then deletes it. body is the exact text signed and POSTed; webhook_id
    // (the Standard Webhooks id) stays the same on every retry. run_at is when it may be sent
    // (again): a claim moves it past the attempt's lease, a failure to the backoff's end.
    await queryRunner.query(`
      CREATE TABLE events (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        webhook_id  uuid NOT NULL DEFAULT gen_random_uuid(),
        cate        text NOT NULL,
        type        text NOT NULL,
        body        text NOT NULL,
        run_at      timestamptz NOT NULL DEFAULT now(),
        attempts    integer NOT NULL DEFAULT 0,
        last_error  text,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // The claim reads due events in (run_at, id) order.
    await queryRunner.query(`CREATE INDEX events_run_at_idx ON events (run_at, id)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE events`);
  }
}
