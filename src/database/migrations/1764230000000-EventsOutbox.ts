import { MigrationInterface, QueryRunner } from 'typeorm';

export class EventsOutbox1764230000000 implements MigrationInterface {
  name = 'EventsOutbox1764230000000';

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  public async up(queryRunner: QueryRunner): Promise<void> {}

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  public async down(queryRunner: QueryRunner): Promise<void> {}
}
