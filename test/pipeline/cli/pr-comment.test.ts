/**
 * The plan as one sticky comment on the release pull request, against a loopback stand-in of the
 * GitHub REST API (a real HTTP server; octokit pointed at it by GITHUB_API_URL): created once,
 * then updated in place, never duplicated, a human's comment untouched; a fork's pull request
 * falls back to the job summary and says so; load events become ::warning annotations on the YAML
 * line that causes them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STICKY_MARKER } from '../../../pipeline/cli/pr-comment.js';
import { cliDatabase, type CliDatabase } from '../../support/cli-db.js';
import { runBin, runRelease, tempRepo } from '../../support/cli.js';
import { annotationsIn } from '../../github/workflows.js';

interface StoredComment {
  id: number;
  body: string;
  html_url: string;
  user: { login: string };
}

/** The few endpoints the comment uses, over one pull request's comments, recording every call. */
async function githubStandIn(): Promise<{
  url: string;
  comments: StoredComment[];
  calls: { method: string; path: string; auth: string | undefined }[];
  close(): Promise<void>;
}> {
  const comments: StoredComment[] = [
    { id: 1, body: 'LGTM, but check the floor', html_url: 'https://github.test/c/1', user: { login: 'reviewer' } },
  ];
  const calls: { method: string; path: string; auth: string | undefined }[] = [];
  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { body?: string };
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0]!;
      calls.push({ method: req.method ?? '', path, auth: req.headers.authorization });
      const json = (status: number, data: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
      if (req.method === 'GET' && path === '/repos/mngd/agent-releases/issues/7/comments') return json(200, comments);
      if (req.method === 'POST' && path === '/repos/mngd/agent-releases/issues/7/comments') {
        const c = {
          id: 100 + comments.length,
          body: (await body(req)).body ?? '',
          html_url: `https://github.test/c/${100 + comments.length}`,
          user: { login: 'github-actions[bot]' },
        };
        comments.push(c);
        return json(201, c);
      }
      const m = /^\/repos\/mngd\/agent-releases\/issues\/comments\/(\d+)$/.exec(path);
      if (req.method === 'PATCH' && m) {
        const c = comments.find((x) => x.id === Number(m[1]));
        if (!c) return json(404, { message: 'Not Found' });
        c.body = (await body(req)).body ?? '';
        return json(200, c);
      }
      return json(404, { message: `the stand-in does not know ${req.method} ${path}` });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    comments,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TOKEN = 'ghs_commentTESTtoken0123456789';
const rel = (v: string, extra = '') =>
  `version: "${v}"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-${v}.pkg\nsha256: ${v.replace(/\./g, '').padStart(64, 'f')}\nsize: 1000\n${extra}`;

describe('the plan as a sticky pull request comment', () => {
  let gh: Awaited<ReturnType<typeof githubStandIn>>;
  let db: CliDatabase;
  let repo: { root: string; releases: string };
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'mngd-pr-'));
  const event = (fork: boolean, sha: string) => {
    const path = join(dir, `event-${fork}-${sha}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        pull_request: {
          number: 7,
          head: { sha, repo: { full_name: fork ? 'someone/agent-releases' : 'mngd/agent-releases' } },
          base: { repo: { full_name: 'mngd/agent-releases' } },
        },
      }),
    );
    return path;
  };
  const plan = async (eventPath: string) => {
    const summary = join(dir, `summary-${Math.random()}`);
    writeFileSync(summary, '');
    const r = await runBin(['plan', '--skip-manifests', '--pr-comment'], {
      cwd: repo.root,
      env: { ...env, GITHUB_ACTIONS: 'true', GITHUB_EVENT_PATH: eventPath, GITHUB_STEP_SUMMARY: summary },
    });
    return { ...r, summary: readFileSync(summary, 'utf8') };
  };

  before(async () => {
    gh = await githubStandIn();
    repo = tempRepo();
    const stateDir = join(repo.root, '.state');
    db = await cliDatabase(stateDir);
    env = {
      ...db.env,
      MNGD_STATE_DIR: stateDir,
      GITHUB_API_URL: gh.url,
      GITHUB_TOKEN: TOKEN,
      GITHUB_REPOSITORY: 'mngd/agent-releases',
    };
    writeFileSync(join(repo.releases, '1.0.3.yaml'), rel('1.0.3'));
    const sync = await runRelease(['sync'], { cwd: repo.root, env: { ...db.env, MNGD_STATE_DIR: stateDir } });
    assert.equal(sync.code, 0, sync.stderr + sync.stdout);
    // The pull request raises the floor (line 5 of the file): a load event.
    writeFileSync(join(repo.releases, '1.0.3.yaml'), rel('1.0.3', 'min_required_version: "1.0.3"\n'));
  });
  after(async () => {
    await gh?.close();
    await db?.close();
  });

  it('is created once, load events first, and the floor warning sits on the min_required_version line', async () => {
    const r = await plan(event(false, 'a'.repeat(40)));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const mine = gh.comments.filter((c) => c.body.includes(STICKY_MARKER));
    assert.equal(mine.length, 1);
    const body = mine[0]!.body;
    assert.ok(body.indexOf('Load events') < body.indexOf('FLOOR_RAISED'));
    assert.ok(body.indexOf('FLOOR_RAISED') < body.indexOf('## Plan') || !body.includes('## Plan'), body);
    assert.match(body, /^- \*\*FLOOR_RAISED\*\*: the floor of stable rises none -> 1\.0\.3/m);
    assert.match(body, /Updated for aaaaaaaaaaaa by the release-pr check/);
    assert.match(r.stderr, /Plan comment created on the pull request: https:\/\/github\.test\/c\/101/);
    assert.ok(gh.calls.every((c) => c.auth === `token ${TOKEN}`));
    const floor = annotationsIn(r.stdout).filter((a) => a.props['title'] === 'FLOOR_RAISED');
    assert.match(floor[0]!.message, /the floor of stable rises/);
    assert.match(floor[1]!.message, /the floor of beta rises/);
    assert.deepEqual(
      floor.map((a) => [a.level, a.props['file'], a.props['line']]),
      // beta offers the stable releases too: its floor rises with the same line.
      [
        ['warning', 'releases/1.0.3.yaml', '5'],
        ['warning', 'releases/1.0.3.yaml', '5'],
      ],
    );
    assert.doesNotMatch(r.stdout + r.stderr + r.summary, /ghs_comment/);
  });

  it('is updated in place on the next run, never duplicated, the human comment untouched', async () => {
    const r = await plan(event(false, 'b'.repeat(40)));
    assert.equal(r.code, 0, r.stderr);
    const mine = gh.comments.filter((c) => c.body.includes(STICKY_MARKER));
    assert.equal(mine.length, 1, 'one sticky comment');
    assert.match(mine[0]!.body, /Updated for bbbbbbbbbbbb/);
    assert.match(r.stderr, /Plan comment updated on the pull request/);
    assert.equal(gh.comments[0]!.body, 'LGTM, but check the floor');
    assert.deepEqual(
      gh.calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`),
      ['POST /repos/mngd/agent-releases/issues/7/comments', 'PATCH /repos/mngd/agent-releases/issues/comments/101'],
    );
  });

  it("falls back to the job summary for a fork's pull request, and says so", async () => {
    const before = gh.calls.length;
    const r = await plan(event(true, 'c'.repeat(40)));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gh.calls.length, before, 'no call to GitHub');
    assert.match(
      r.summary,
      /Plan comment: not written: this pull request comes from a fork, whose token may not comment: the plan is in this job summary only\./,
    );
    assert.match(r.summary, /FLOOR_RAISED/);
  });
});
