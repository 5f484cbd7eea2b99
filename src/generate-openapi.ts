import 'reflect-metadata';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { createApiDocument, openApiFileText } from './common/openapi.document';
import { AppConfig } from './config/app-config';
import { loadConfig } from './config/load-config';

/**
 * `node dist/generate-openapi.js` writes openapi.json at the repository root; with `--check` it
 * writes the document to a temporary file instead and fails when the committed one differs.
 *
 * Run from dist/ (after `nest build`), so that the swagger CLI plugin has turned the DTOs' JSDoc
 * into descriptions. No database is needed: the app is created in preview mode, where Nest
 * registers modules, controllers and routes but instantiates no provider, so nothing connects.
 * The configuration is the defaults (no environment read), so the output is the same anywhere.
 */
const OPENAPI_FILE = join(__dirname, '..', 'openapi.json');

async function generate(): Promise<string> {
  const config: AppConfig = { ...loadConfig({}), logLevel: 'silent' };
  const app = await NestFactory.create(
    AppModule.forRoot(config, 'postgres://preview.invalid/delay_tasks'),
    { preview: true, logger: false, bodyParser: false, abortOnError: false },
  );
  return openApiFileText(createApiDocument(app));
}

function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end>')}, generated ${JSON.stringify(b[at] ?? '<end>')}`;
}

async function main(): Promise<void> {
  const text = await generate();
  if (!process.argv.includes('--check')) {
    writeFileSync(OPENAPI_FILE, text);
    console.log(`wrote ${OPENAPI_FILE}`);
    return;
  }
  const generated = join(tmpdir(), `delay-tasks-openapi-${process.pid}.json`);
  writeFileSync(generated, text);
  let committed = '';
  try {
    committed = readFileSync(OPENAPI_FILE, 'utf8');
  } catch {
    // a missing file differs like any other
  }
  if (committed === text) {
    unlinkSync(generated);
    console.log('openapi.json is up to date');
    return;
  }
  console.error(
    `openapi.json is out of date with the code (${firstDifference(committed, text)}).\n` +
      `Generated document: ${generated} (diff -u openapi.json ${generated}).\n` +
      'Run `npm run openapi` and commit openapi.json.',
  );
  process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(`openapi generation failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
