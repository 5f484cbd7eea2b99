import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useTestDatabase } from './support/fixtures';
import { ServiceProcess, spawnService, waitUntilHealthy } from './support/service-process';

/**
 * The README's API examples, pasted into bash as a reader would: every shell block of the API
 * section, in order, against the service as a process (`node dist/main.js` when the build is
 * current, else the sources). Each curl must answer the status its shown output names (200 when
 * none is shown), and a shown output must match the real one, where `…` stands for anything and
 * `timeToRun` for any time (the examples compute theirs).
 *
 * The examples' addresses are rewritten: the service's (localhost:7080) to the test
 * service, and the handlers' (10.0.0.5, 10.0.0.6) to local receivers.
 */

const README = join(__dirname, '..', 'README.md');
/** Written with or without http:// in the examples. */
const EXAMPLE_SERVICE = 'localhost:7080';
const EXAMPLE_HANDLERS = ['http://10.0.0.5:8080', 'http://10.0.0.6'];

/** A command of an example block and the output shown under it, if any. */
interface Example {
  command: string;
  shown?: string;
}

/** The shell blocks of the README section `## <heading>` that hold curl commands. */
function shellBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`README has no section "## ${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
    .map((match) => match[1])
    .filter((block) => /^curl /m.test(block));
}

/**
 * Splits a block into commands (a command goes on while a quote is open or a line ends with \)
 * and the comment lines right under a command, which show its output; a comment after a blank
 * line describes the next command.
 */
function examplesOf(block: string): Example[] {
  const examples: Example[] = [];
  let command: string[] = [];
  let last: Example | undefined;
  for (const line of block.split('\n')) {
    if (command.length === 0 && line.startsWith('#')) {
      if (last) last.shown = last.shown === undefined ? line : `${last.shown}\n${line}`;
      continue;
    }
    if (command.length === 0 && line.trim() === '') {
      last = undefined;
      continue;
    }
    command.push(line);
    const text = command.join('\n');
    if (!endsInsideQuotes(text) && !line.endsWith('\\')) {
      last = { command: text };
      examples.push(last);
      command = [];
    }
  }
  if (command.length > 0) throw new Error(`unterminated command: ${command.join('\n')}`);
  return examples;
}

/** Whether a quote is still open at the end of `text`, read as bash does (comments skipped). */
function endsInsideQuotes(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = undefined;
    } else if (c === '\\') i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i);
      if (end === -1) break;
      i = end;
    }
  }
  return quote !== undefined;
}

/** The output shown in comment lines, as the text it stands for. */
function shownText(shown: string): string {
  return shown
    .split('\n')
    .map((line) => line.replace(/^# ?/, '').trim())
    .join('');
}

/** A shown output as a pattern: `…` matches anything, `"timeToRun":<n>` any number. */
function shownPattern(shown: string): RegExp {
  const escaped = shownText(shown)
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/…/g, '.*?')
    .replace(/"timeToRun":\d+(\\\.\d+)?/g, '"timeToRun":\\d+(\\.\\d+)?');
  return new RegExp(`^${escaped}$`);
}

/** Runs the commands in one bash, so that variables carry over; the output of each. */
async function runInBash(commands: string[]): Promise<string[]> {
  const marker = (i: number): string => `@@readme-example-${i}@@`;
  const script = [
    // The examples' own curl, kept quiet about progress and bounded in time.
    'curl() { command curl --silent --show-error --max-time 10 "$@"; }',
    ...commands.flatMap((command, i) => [command, `printf '\\n%s\\n' '${marker(i)}'`]),
  ].join('\n');
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { timeout: 60_000 });
  return commands.map((_, i) => {
    const from = i === 0 ? 0 : stdout.indexOf(`${marker(i - 1)}\n`) + marker(i - 1).length + 1;
    return stdout.slice(from, stdout.indexOf(`\n${marker(i)}\n`));
  });
}

describe('README examples', () => {
  const fixture = useTestDatabase();
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('parses shown outputs as the comment lines right under a command', () => {
    const block = [
      'A=1',
      '',
      '# describes',
      "curl -d '{",
      '  "a":1}\' x \\',
      '  y',
      '# {"code":200,',
      '#   "b":2}',
      "curl x    # the category's",
      'curl "a\'b"',
      '',
    ].join('\n');
    expect(examplesOf(block)).toStrictEqual([
      { command: 'A=1' },
      { command: 'curl -d \'{\n  "a":1}\' x \\\n  y', shown: '# {"code":200,\n#   "b":2}' },
      { command: "curl x    # the category's" },
      { command: 'curl "a\'b"' },
    ]);
  });

  it('answer as shown when pasted into bash, on any day', async () => {
    const blocks = shellBlocks(readFileSync(README, 'utf8'), 'API');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const examples = blocks.flatMap(examplesOf);
    const receivers = await Promise.all(EXAMPLE_HANDLERS.map(() => fixture.receiver()));
    const receiverBases = receivers.map((receiver) => receiver.url(''));
    service = await spawnService({ DATABASE_URL: fixture.db.url }, { preferBuild: true });
    await waitUntilHealthy(service);

    const rewrite = (text: string): string =>
      EXAMPLE_HANDLERS.reduce(
        (result, handler, i) => result.split(handler).join(receiverBases[i]),
        text.split(EXAMPLE_SERVICE).join(service!.baseUrl.replace('http://', '')),
      );
    const restore = (text: string): string =>
      EXAMPLE_HANDLERS.reduce(
        (result, handler, i) => result.split(receiverBases[i]).join(handler),
        text,
      );
    const outputs = await runInBash(examples.map((example) => rewrite(example.command)));

    const curls = examples.filter((example) => /^curl /.test(example.command));
    expect(curls.length).toBeGreaterThanOrEqual(15);
    examples.forEach((example, i) => {
      if (!/^curl /.test(example.command)) return;
      const output = restore(outputs[i]);
      const context = `${example.command}\n  answered: ${output}`;
      expect({ context, answered: output !== '' }).toStrictEqual({ context, answered: true });
      const shownCode = example.shown && /^\{"code":(\d+)/.exec(shownText(example.shown));
      const expectedCode = shownCode ? Number(shownCode[1]) : 200;
      if (output.startsWith('{')) {
        const code = (JSON.parse(output) as { code: number }).code;
        expect({ context, code }).toStrictEqual({ context, code: expectedCode });
      }
      if (example.shown) {
        const matches = shownPattern(example.shown).test(output);
        expect({ context, shown: example.shown, matches }).toStrictEqual({
          context,
          shown: example.shown,
          matches: true,
        });
      }
    });
  });
});
