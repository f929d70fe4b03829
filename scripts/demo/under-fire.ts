/**
 * The demo's "yank under fire": a bad release is stopped while everything else is broken. Its
 * package was pulled from the CDN, another listed package 404s, the database is down: apply still
 * publishes the yank (a change that only offers less), every Mac's next check sees it, and the
 * following apply, once the outage is over, catches the table up.
 */
import { renameSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ReleaseFile } from '../../schema/types.js';
import type { CheckRun, Fleet } from './fleet.js';

export const UNDER_FIRE = 'A yank under fire';

/** R: what a story returns (scenario.ts's StoryResult). */
export interface FireContext<R> {
  story(name: string, intro: string, change: () => void, checks: () => Promise<CheckRun[]>): Promise<R>;
  release(version: string, extra?: Partial<ReleaseFile>): void;
  git(...args: string[]): string;
  /** the environment apply runs with (changed here while the database is down) */
  env: Record<string, string | undefined>;
  /** the folder the CDN serves packages from */
  pkgs: string;
  fleet: Fleet;
  apply(): Promise<number>;
  out(text: string): void;
}

/** A port nothing listens on: "the database is down". */
async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

export async function yankUnderFire<R>(c: FireContext<R>): Promise<R> {
  c.out(`\n━━ A bad release at 50 % ━━\nreleases/1.0.4.yaml with rollout_percent: 50 is merged and published.\n`);
  c.release('1.0.4', { release_notes: 'New network stack (bad: it drops checkins).', rollout_percent: 50 });
  c.git('add', '-A');
  c.git('commit', '-qm', 'Release 1.0.4 to 50 %');
  await c.apply();
  const pkg = (v: string) => join(c.pkgs, `mngd-agent-${v}.pkg`);
  const downUrl = `postgres://mngd@127.0.0.1:${await closedPort()}/mngd`;
  const saved = c.env['DATABASE_URL'];
  return c.story(
    UNDER_FIRE,
    [
      'Before any Mac checks, on-call learns 1.0.4 is bad. At the same time its package was pulled',
      'from the CDN, 1.0.1 (still listed) 404s, and the database is down. The yank (active: false) is',
      'a change that only offers less, so apply publishes it first, whatever else fails.',
    ].join('\n'),
    () => {
      renameSync(pkg('1.0.4'), `${pkg('1.0.4')}.pulled`);
      renameSync(pkg('1.0.1'), `${pkg('1.0.1')}.gone`);
      c.env['DATABASE_URL'] = downUrl;
      c.release('1.0.4', {
        release_notes: 'New network stack (bad: it drops checkins).',
        rollout_percent: 50,
        active: false,
      });
      c.git('commit', '-qam', 'Yank 1.0.4');
    },
    async () => {
      const runs = await c.fleet.checkAll();
      const seqs = [...new Set(runs.map((r) => r.result?.manifest?.sequence ?? 'none'))];
      c.out(`every Mac's next check verified manifest sequence ${seqs.join(', ')}: the one without 1.0.4\n`);
      // The outage ends: the database and 1.0.1's package are back (1.0.4's stays pulled).
      if (saved === undefined) delete c.env['DATABASE_URL'];
      else c.env['DATABASE_URL'] = saved;
      renameSync(`${pkg('1.0.1')}.gone`, pkg('1.0.1'));
      c.out('The outage is over; the following apply catches the table up:\n');
      await c.apply();
      return runs;
    },
  );
}
