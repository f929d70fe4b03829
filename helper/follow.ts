/**
 * The `manifest` request: the agent hands over every manifest it verified. The helper verifies
 * it with its own keys and, when it is newer, remembers its sequence as the highest accepted for
 * the channel (durably): from then on an older manifest, however validly signed and unexpired,
 * is refused, so a yank the agent has seen cannot be undone by replaying what came before.
 */
import type { PublicKeyInfo } from '../schema/keys.js';
import { markToCheck, marksAfter, marksChanged } from '../schema/accepted-marks.js';
import { verifyManifest } from '../schema/manifest.js';
import { verifyManifest2 } from '../schema/manifest2.js';
import { asHelperError } from './install.js';
import type { Logger } from './log.js';
import type { ManifestAccepted, ManifestRequest } from './protocol.js';
import type { AcceptedStore } from './state.js';

export interface FollowDeps {
  /** spec: the manifest spec followed (default 1); a spec-2 helper reads spec 2 only, like its agent */
  settings: { trustedKeys: readonly PublicKeyInfo[]; channel: string; spec?: 1 | 2 };
  now: () => Date;
  accepted: AcceptedStore;
  log: Logger;
}

export function acceptManifest(req: ManifestRequest, deps: FollowDeps): Promise<ManifestAccepted> {
  const { settings, log } = deps;
  return deps.accepted.exclusive(async () => {
    const now = deps.now();
    const marks = await deps.accepted.read();
    const previous = markToCheck(marks, settings.trustedKeys, now);
    let sequence: number;
    try {
      // Forged, foreign-channel, expired or older manifests: the same checks as an install's.
      const verify = settings.spec === 2 ? verifyManifest2 : verifyManifest;
      const verified = verify(req.manifest, {
        trustedKeys: settings.trustedKeys,
        channel: settings.channel,
        now,
        previous,
      });
      sequence = verified.accepted.sequence;
      const next = marksAfter(marks, verified.accepted, verified.signers, settings.trustedKeys, now);
      if (marksChanged(marks, next)) await deps.accepted.write(next);
      if (previous === null || sequence > previous.sequence) {
        log.info(
          `SelfUpdate: helper follows the ${settings.spec === 2 ? 'spec-2 ' : ''}${settings.channel} manifest sequence ${sequence} (was ${previous?.sequence ?? 'none'}); older manifests are refused from now on`,
        );
      }
    } catch (err) {
      const e = asHelperError(err);
      log.warn(`SelfUpdate: helper refused a manifest (request ${req.id}): ${e.code}: ${e.message}`);
      throw e;
    }
    return { v: 1, id: req.id, ok: true, outcome: 'accepted', channel: settings.channel, sequence };
  });
}
