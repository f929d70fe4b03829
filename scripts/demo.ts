/**
 * `npm start`: the whole flow on this machine, offline, told as stories (scripts/demo/stories.ts);
 * `npm start -- --story <name>` tells one, `--list` names them. Everything a story makes stays in
 * .state/demo/<story>/ for reading afterwards (logs, manifests, the release repository); nothing
 * keeps running when it ends.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanDir } from './demo/scenario.js';
import { STORIES, type DemoStory } from './demo/stories.js';

const USAGE = `usage: npm start [-- --story NAME ...] [--list] [--help]

Runs the real pipeline, helpers and agents on this machine, offline, and tells what they did.
Without --story every story runs, one after the other. Each story's files stay in
.state/demo/<story>/ (or $MNGD_STATE_DIR/demo/<story>/).

  --story NAME   run this story (repeatable)
  --list         name the stories and what each shows
  --help         this text

Stories:
${STORIES.map((s) => `  ${s.name.padEnd(12)} ${s.what}`).join('\n')}
`;

function selected(): DemoStory[] | null {
  const { values } = parseArgs({
    options: {
      story: { type: 'string', multiple: true },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return null;
  }
  if (values.list) {
    process.stdout.write(`${STORIES.map((s) => `${s.name.padEnd(12)} ${s.what}`).join('\n')}\n`);
    return null;
  }
  const names = values.story ?? STORIES.map((s) => s.name);
  const unknown = names.filter((n) => !STORIES.some((s) => s.name === n));
  if (unknown.length > 0)
    throw new Error(`no story ${unknown.join(', ')}: the stories are ${STORIES.map((s) => s.name).join(', ')}`);
  return STORIES.filter((s) => names.includes(s.name));
}

let stories: DemoStory[] | null;
try {
  stories = selected();
} catch (err) {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  process.exit(2);
}

if (stories !== null) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const base = join(process.env['MNGD_STATE_DIR'] ?? join(root, '.state'), 'demo');
  const started = Date.now();
  const told: { story: DemoStory; seconds: string; summary: string[]; readNext: [string, string][] }[] = [];
  let dir = base;
  try {
    for (const [i, story] of stories.entries()) {
      dir = join(base, story.name);
      cleanDir(dir);
      const began = Date.now();
      process.stdout.write(
        `${i === 0 ? '' : '\n'}╔═ Story ${i + 1} of ${stories.length}: ${story.name} (workspace ${dir})\n║ ${story.what}\n\n`,
      );
      const run = await story.run(dir, (t) => void process.stdout.write(t));
      told.push({ story, seconds: ((Date.now() - began) / 1000).toFixed(1), ...run });
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const rows = told.flatMap((t) => t.readNext);
    const width = Math.max(...rows.map(([p]) => p.length));
    process.stdout.write(
      [
        '',
        '━━ What happened ━━',
        ...told.flatMap((t) => [`${t.story.name} (${t.seconds} s):`, ...t.summary.map((l) => `  ${l}`)]),
        '',
        `Done in ${seconds} s. Nothing is left running.`,
        'Read next:',
        ...[
          ...rows,
          ['README.md', 'the release walkthrough, yanking, forcing an update, troubleshooting'] as const,
        ].map(([p, what]) => `  ${p.padEnd(width)}  ${what}`),
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(
      `\nThe demo failed: ${err instanceof Error ? err.message : String(err)}\nIts workspace is ${dir}.\n`,
    );
    process.exitCode = 1;
  }
}
