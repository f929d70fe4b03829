/**
 * Who signed the package. The hash proves the staged copy is the released file; it does not
 * prove Apple-notarized software from our Team ID. So, on the root-only staged copy and after
 * size and SHA-256 (as Installomator does):
 *   pkgutil --check-signature <pkg>   a Developer ID Installer leaf whose Team ID is configured
 *   spctl -a -vv -t install <pkg>     accepted, source=Notarized Developer ID
 * Both through spawn (never a shell), with a time-out that kills their process group. The
 * parsers are pure and take the tools' real output formats (their man pages and public runs).
 */
import { HelperError } from './protocol.js';
import type { InstallerRunner } from './installer.js';

export interface SignatureSettings {
  /** accepted Team IDs (two during a migration); empty: no signature check */
  teamIds: readonly string[];
  pkgutil: string;
  spctl: string;
  signatureTimeoutMs: number;
}

export const DEFAULT_PKGUTIL = '/usr/sbin/pkgutil';
export const DEFAULT_SPCTL = '/usr/sbin/spctl';
export const TEAM_ID_PATTERN = /^[A-Z0-9]{10}$/;

/** What pkgutil --check-signature says of a package. */
export type PkgutilVerdict =
  | { ok: true; teamId: string; leaf: string }
  | { ok: false; code: 'PKG_UNSIGNED' | 'PKG_SIGNER_UNTRUSTED'; why: string };

const DISTRIBUTION = /^Status: signed by a developer certificate issued by Apple for distribution$/;

export function parsePkgutil(output: string, exitCode: number | null): PkgutilVerdict {
  const lines = output.split('\n').map((l) => l.trim());
  const status = lines.find((l) => l.startsWith('Status:'));
  if (status === undefined || /^Status: no signature/.test(status))
    return { ok: false, code: 'PKG_UNSIGNED', why: status ?? `no Status line (pkgutil exit ${exitCode ?? 'signal'})` };
  if (!DISTRIBUTION.test(status) || exitCode !== 0)
    return {
      ok: false,
      code: 'PKG_SIGNER_UNTRUSTED',
      why: `${status.slice(8)} (pkgutil exit ${exitCode ?? 'signal'})`,
    };
  const chain = lines.indexOf('Certificate Chain:');
  const leaf = chain === -1 ? undefined : lines.slice(chain + 1).find((l) => /^1\. /.test(l));
  const m = leaf === undefined ? null : /^1\. Developer ID Installer: .*\(([A-Z0-9]{10})\)$/.exec(leaf);
  if (leaf === undefined || m === null)
    return {
      ok: false,
      code: 'PKG_SIGNER_UNTRUSTED',
      why: `the signing certificate is not a Developer ID Installer (${leaf?.slice(3) ?? 'no certificate chain'})`,
    };
  return { ok: true, teamId: m[1]!, leaf: leaf.slice(3) };
}

/** What spctl -a -vv -t install says: accepted as notarized, or why not. */
export function parseSpctl(output: string, exitCode: number | null): { ok: true } | { ok: false; why: string } {
  const accepted = /: accepted$/m.test(output);
  const source = /^source=(.*)$/m.exec(output)?.[1]?.trim();
  if (exitCode === 0 && accepted && source === 'Notarized Developer ID') return { ok: true };
  return {
    ok: false,
    why: `${accepted ? 'accepted' : 'rejected'}, source=${source ?? 'none'} (spctl exit ${exitCode ?? 'signal'})`,
  };
}

/**
 * Runs both tools on the staged copy; throws the refusal. The installer is never spawned after
 * any of them (the caller runs it only when this returns).
 */
export async function checkSignature(staged: string, s: SignatureSettings, run: InstallerRunner): Promise<void> {
  if (s.teamIds.length === 0) return;
  const tool = async (path: string, args: string[]) => {
    const r = await run(path, args, s.signatureTimeoutMs);
    if (r.timedOut)
      throw new HelperError(
        'PKG_SIGNATURE_CHECK_TIMEOUT',
        `${path} ${args[0]} ran longer than ${s.signatureTimeoutMs / 1000} s and was killed; nothing was installed`,
      );
    if (r.spawnError !== undefined)
      throw new HelperError(
        'SIGNATURE_CHECK_UNAVAILABLE',
        `${path} could not be started (${r.spawnError}); check the helper's --pkgutil and --spctl`,
      );
    return r;
  };
  const p = await tool(s.pkgutil, ['--check-signature', staged]);
  const verdict = parsePkgutil(p.outputTail, p.exitCode);
  if (!verdict.ok) {
    const what =
      verdict.code === 'PKG_UNSIGNED' ? 'is not signed' : 'is not signed by a trusted Developer ID Installer';
    throw new HelperError(verdict.code, `the package ${what}: ${verdict.why}; nothing was installed`);
  }
  if (!s.teamIds.includes(verdict.teamId))
    throw new HelperError(
      'PKG_TEAM_ID_MISMATCH',
      `the package is signed by another team (got ${verdict.teamId}, want ${s.teamIds.join(' or ')}: ${verdict.leaf}); nothing was installed; check --team-id`,
    );
  const a = await tool(s.spctl, ['-a', '-vv', '-t', 'install', staged]);
  const notarized = parseSpctl(a.outputTail, a.exitCode);
  if (!notarized.ok)
    throw new HelperError(
      'PKG_NOT_NOTARIZED',
      `Gatekeeper does not accept the package as notarized: ${notarized.why}; nothing was installed`,
    );
}
