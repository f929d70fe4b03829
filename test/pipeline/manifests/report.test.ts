import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { channelLine, publishMarkdown } from '../../../pipeline/manifests/report.js';
import type { ChannelResult, SpecResult } from '../../../pipeline/manifests/publish.js';

const spec = (key: string): SpecResult => ({
  key,
  action: 'updated',
  reason: 'the releases changed',
  changes: ['1.0.2: rollout_percent: git says 10, published says 5'],
  sequence: 1795748400,
  previousSequence: 1795744800,
  expiresAt: '2026-12-11T03:00:00Z',
  historyKey: `history/${key}`,
  offers: [
    { version: '1.0.2', rollout_percent: 10 },
    { version: '1.0.1', rollout_percent: 100 },
  ],
  floor: '1.0.1',
  written: true,
});
const result: ChannelResult = { channel: 'stable', ...spec('latest.json'), v2: spec('v2/latest.json'), readers: [] };

describe("publish's report", () => {
  it('names the shares and the floor of each manifest, in the line and in the job summary table', () => {
    assert.equal(
      channelLine(result),
      [
        'stable: published latest.json sequence 1795748400 (previous 1795744800), expires 2026-12-11T03:00:00Z: the releases changed; offers 1.0.2 (10%), 1.0.1; floor 1.0.1',
        '    1.0.2: rollout_percent: git says 10, published says 5',
        'stable: published v2/latest.json sequence 1795748400 (previous 1795744800), expires 2026-12-11T03:00:00Z: the releases changed; offers 1.0.2 (10%), 1.0.1; floor 1.0.1',
        '    1.0.2: rollout_percent: git says 10, published says 5',
        '',
      ].join('\n'),
    );
    assert.equal(
      publishMarkdown('s3://b/agent', [result]),
      [
        'Target: `s3://b/agent`',
        '',
        '| channel | manifest | action | sequence | expires | offers | floor | why |',
        '|---|---|---|---|---|---|---|---|',
        '| `stable` | `latest.json` | updated | 1795748400 | 2026-12-11T03:00:00Z | 1.0.2 (10%), 1.0.1 | 1.0.1 | the releases changed |',
        '| `stable` | `v2/latest.json` | updated | 1795748400 | 2026-12-11T03:00:00Z | 1.0.2 (10%), 1.0.1 | 1.0.1 | the releases changed |',
        '',
      ].join('\n'),
    );
  });
});
