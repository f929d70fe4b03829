import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { appendSummary, onGitHub } from '../cli/github.js';
import { loadValid } from '../cli/setup.js';
import { migrateFleet } from '../fleet/index.js';
import { fleetStatus } from '../fleet/index.js';
import { renderStatusMarkdown, renderStatusText } from '../fleet/index.js';
import { openDatabase } from '../table/index.js';

export const statusCommand: Command = {
  name: 'status',
  help: `Usage: mngd-release status [--channel NAME] [--releases DIR] [--json]

What the fleet did with each release, from the update events agents report with their checkin
(tables agent_update_events and agent_devices): per channel and version, the active devices on
it (seen within 7 days) and their share, the share git offers it at, install attempts, failures
by step and code, rollbacks by the health gate, devices below the channel's floor (their checkin
waits for the update), devices stuck (offered it more than 48 h ago, still below it) and devices
unsupported (below the floor on a macOS that no release satisfying it runs on: not blocked).
Read-only; creates the fleet tables if they do not exist yet.

Flags:
  --channel NAME   only this channel
${COMMON_HELP}

Environment:
  DATABASE_URL     the mngd server's PostgreSQL (default: the embedded PGlite under the state folder)

${EXIT_HELP}

Example:
  mngd-release status --channel stable
  channel stable: 1200 active device(s) (seen within 7 days)  adoption ▁▃█ (oldest → newest)
    floor: 1.0.2; 12 device(s) below it, their checkin waits for the update
    version   devices  share   offered  installs  failures                         rollbacks  stuck  unsupported
    1.0.4         120   10.0%      10%       130  install INSTALLER_FAILED ×9              2      0            0`,
  options: { ...COMMON_OPTIONS, channel: { type: 'string' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const loaded = await loadValid(ctx, 'mngd-release status', str(args, 'releases'), json);
    const only = str(args, 'channel');
    const channels = only === undefined ? [...loaded.policy.channels] : [only];
    const db = await openDatabase(loaded.set.root, ctx.env);
    try {
      await migrateFleet(db);
      const status = await fleetStatus(db, { releases: loaded.releases, channels, now: ctx.now() });
      ctx.stdout.write(json ? `${JSON.stringify({ channels: status }, null, 2)}\n` : renderStatusText(status));
      if (onGitHub(ctx.env)) await appendSummary(renderStatusMarkdown(status));
      return EXIT.OK;
    } finally {
      await db.close();
    }
  },
};
