import { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditLog1764240000000 implements MigrationInterface {
  name = 'AuditLog1764240000000';

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  public async up(queryRunner: QueryRunner): Promise<void> {}

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  public async down(queryRunner: QueryRunner): Promise<void> {}
}
