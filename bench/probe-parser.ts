/**
 * What a request body costs to parse, for bodies of 1 MiB (the default BODY_LIMIT_BYTES) shaped
 * to be expensive, nested up to the 64-level limit. `npm run build && npx ts-node --transpile-only
 * bench/probe-parser.ts [--runs 7] [--e2e-runs 3] [--main path/to/main.js] [--no-e2e]`.
 *
 * 1. In process: each body through parseBody (what JsonBodyMiddleware runs: the scanner fed in
 *    64 KiB chunks, then the parser), and through the parsing this replaced (lossless-json's
 *    parse after a bracket-counting pass, as src/common/lossless-json.ts had it), p50/max ms.
 * 2. End to end: each body POSTed to a running service (dist/main.js, or --main: another build),
 *    time to the answer, p50/max ms, with its status.
 * 3. Eight clients posting the costliest body while a task falls due: how late it is delivered.
 */
import { isInteger, isSafeNumber, LosslessNumber, parse } from 'lossless-json';
import { testDatabaseUrl } from '../test/setup/test-server';
import { parseBody } from '../src/common/json-body.reader';
import { dropDatabase, freshDatabase } from './lib/db';
import { collect, startReceiver, startService, Service } from './lib/processes';
import { percentile } from './lib/stats';

const MIB = 1_048_576;
const MAX_DEPTH = 64;
const DUE = Math.floor(Date.now() / 1000) + 86_400;

interface Shape {
  name: string;
  body: Buffer;
  path: string;
}

/** `{"timestamp":…,"key":1,"params":<prefix><unit>…<unit><suffix>}`, exactly `size` bytes. */
function taskBody(prefix: string, unit: string, suffix: string, size = MIB): Buffer {
  const head = `{"timestamp":${DUE},"key":1,"params":${prefix}`;
  const tail = `${suffix}}`;
  return fillTo(head, unit, tail, size);
}

/** head + as many units as fit + padding spaces + tail, `size` bytes; units end without a comma. */
function fillTo(head: string, unit: string, tail: string, size: number): Buffer {
  const room = size - head.length - tail.length;
  const whole = unit.length > room ? unit.slice(0, unit.lastIndexOf(',', room - 1) + 1) : unit;
  const units = whole.repeat(Math.floor(room / whole.length)).replace(/,$/, '');
  return Buffer.from(head + units + ' '.repeat(room - units.length) + tail);
}

function shapes(): Shape[] {
  const task = (name: string, prefix: string, unit: string, suffix: string): Shape => ({
    name,
    body: taskBody(prefix, unit, suffix),
    path: '/task/probe',
  });
  // The body object is level 1, so params may nest 63 levels.
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)},`;
  const keys = Array.from({ length: 120_000 }, (_, i) => `"k${i}":1,`).join('');
  return [
    task('nesting 64 levels, 1,1,1… inside', '['.repeat(62) + '[', '1,', ']' + ']'.repeat(62)),
    task('arrays nested 63 deep, repeated', '[', deep(62), ']'),
    task('many empty arrays [[],[],…]', '[', '[],', ']'),
    task('many one-item arrays [[1],[1],…]', '[', '[1],', ']'),
    task('many small objects [{"a":1},…]', '[', '{"a":1},', ']'),
    task('many keys {"k0":1,…}', '{', keys, '}'),
    task('big integers (30 digits)', '[', '123456789012345678901234567890,', ']'),
    task('long decimals (21 digits)', '[', '3.14159265358979323846,', ']'),
    task('short decimals 1.5', '[', '1.5,', ']'),
    task('exponents 1e5', '[', '1e5,', ']'),
    task('one long string', '"', 'a', '"'),
    task('string of \\n escapes', '"', '\\n', '"'),
    task('string of \\u00e9 escapes', '"', '\\u00e9', '"'),
    task('many short strings', '[', '"ab",', ']'),
    task('many strings with escapes', '[', '"a\\"",', ']'),
    {
      name: 'unknown top-level keys (not params)',
      body: fillTo(`{"timestamp":${DUE},"key":1,`, keys.replace(/"k/g, '"x'), ',"z":1}', MIB),
      path: '/task/probe',
    },
    {
      name: 'batch: 350k empty task objects',
      body: fillTo('{"tasks":[', '{},', ']}', MIB),
      path: '/tasks/probe',
    },
    {
      name: 'batch: 1,000 tasks, 1 KiB params each',
      body: fillTo(
        '{"tasks":[',
        Array.from(
          { length: 1000 },
          (_, i) => `{"timestamp":${DUE},"key":${i + 1},"params":[${'7,'.repeat(500)}7]},`,
        ).join(''),
        ']}',
        MIB,
      ),
      path: '/tasks/probe',
    },
    {
      name: 'refused: 1 MiB of [ (too deep)',
      body: Buffer.from('['.repeat(MIB)),
      path: '/task/probe',
    },
    {
      name: 'refused: 1 MiB + 1 byte',
      body: taskBody('"', 'a', '"', MIB + 1),
      path: '/task/probe',
    },
  ];
}

/** The parsing JsonBodyMiddleware did before: a bracket-counting pass, then lossless-json. */
function previousParse(body: Buffer): unknown {
  if (body.length > MIB) throw new Error('too large');
  const text = body.toString('utf8');
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  if (max > MAX_DEPTH) throw new Error('too deep');
  return parse(text, null, (number) => {
    if (isInteger(number) && !isSafeNumber(number)) return BigInt(number);
    return isSafeNumber(number) ? Number(number) : new LosslessNumber(number);
  });
}

function timeRuns(runs: number, fn: () => unknown): { p50: number; max: number; outcome: string } {
  let outcome = 'parsed';
  const times: number[] = [];
  for (let run = -2; run < runs; run++) {
    const start = performance.now();
    try {
      fn();
    } catch (error) {
      outcome = `refused: ${(error as Error).message.slice(0, 40)}`;
    }
    if (run >= 0) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), max: times[times.length - 1], outcome };
}

const ms = (value: number) => value.toFixed(1).padStart(7);

function inProcess(list: Shape[], runs: number): void {
  console.log(`\nin process, ${runs} runs (+2 warm-up): p50 / max ms`);
  console.log(
    `${'body'.padEnd(40)} ${'parseBody (now)'.padEnd(18)} ${'before'.padEnd(18)} outcome`,
  );
  for (const shape of list) {
    const limits = { maxBytes: MIB, maxDepth: MAX_DEPTH };
    const now = timeRuns(runs, () => parseBody(shape.body, limits));
    const before = timeRuns(Math.min(runs, 3), () => previousParse(shape.body));
    console.log(
      `${shape.name.padEnd(40)} ${ms(now.p50)} /${ms(now.max)}  ${ms(before.p50)} /${ms(before.max)}  ${now.outcome}`,
    );
  }
}

async function post(service: Service, shape: Shape): Promise<{ ms: number; status: number }> {
  const start = performance.now();
  const res = await fetch(`${service.baseUrl}${shape.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: shape.body,
  }).catch(() => undefined);
  await res?.arrayBuffer();
  return { ms: performance.now() - start, status: res?.status ?? 0 };
}

async function endToEnd(service: Service, list: Shape[], runs: number): Promise<void> {
  console.log(`\nend to end (POST, time to the answer), ${runs} runs (+1 warm-up): p50 / max ms`);
  for (const shape of list) {
    const results: Array<{ ms: number; status: number }> = [];
    await post(service, shape); // warm-up
    for (let run = 0; run < runs; run++) results.push(await post(service, shape));
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    const statuses = [...new Set(results.map((r) => r.status))].join(',');
    console.log(
      `${shape.name.padEnd(40)} ${ms(percentile(times, 50))} /${ms(times[times.length - 1])}  HTTP ${statuses}`,
    );
  }
}

/** A task due in 2 s while 8 clients post `shape` over and over for 4 s: its lateness. */
async function deliveryUnderLoad(service: Service, shape: Shape): Promise<void> {
  const receiver = await startReceiver();
  await fetch(`${service.baseUrl}/handler/late`, {
    method: 'POST',
    body: JSON.stringify({ handler: receiver.url }),
  });
  const dueMs = Math.ceil(Date.now() / 1000 + 2) * 1000;
  await fetch(`${service.baseUrl}/task/late`, {
    method: 'POST',
    body: JSON.stringify({ timestamp: dueMs / 1000, key: 1 }),
  });
  const until = dueMs + 2000;
  let posted = 0;
  const client = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueMs - 1000 - Date.now())));
    while (Date.now() < until) {
      await post(service, shape);
      posted++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  const [arrival] = await collect(receiver, 1, 30_000);
  receiver.stop();
  const late = arrival
    ? `${(arrival.arrivedAtMs - dueMs).toFixed(0)} ms late`
    : 'not delivered in 30 s';
  console.log(`\n8 clients posting "${shape.name}" (${posted} requests): a due task was ${late}`);
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : process.argv[index + 1];
}

async function main(): Promise<void> {
  const list = shapes();
  inProcess(list, Number(option('--runs', '7')));
  if (process.argv.includes('--no-e2e')) return;
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_parser');
  const mainJs = option('--main', '');
  const env = { DATABASE_URL: db, CALLBACK_ALLOW_CIDRS: '127.0.0.1/32', LOG_LEVEL: 'error' };
  const service = await (mainJs ? startService(env, [], mainJs) : startService(env));
  try {
    console.log(`\nservice: ${mainJs || 'dist/main.js'}`);
    await endToEnd(service, list, Number(option('--e2e-runs', '3')));
    await deliveryUnderLoad(service, list[1]);
  } finally {
    await service.stop();
    await dropDatabase(server, 'dt_probe_parser');
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
