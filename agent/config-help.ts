/** The agent's --help text for its settings (agent/config.ts reads them). */
import { DEFAULT_FACTS_COMMANDS } from '../helper/device-facts.js';
import { defaultDeviceIdFile, defaultSocketPath, defaultVersionFile } from '../helper/protocol.js';
import { DEFAULTS } from './config.js';

export const CONFIG_HELP = `Configuration (a JSON file with the snake_case keys, overridden by the flags):
  --config FILE            JSON file, e.g. {"manifest_url": "https://…/latest.json", "trusted_keys": ["…"]}
  --manifest-url URL       the channel's signed manifest (manifest_url; required): …/latest.json (spec 1)
                           or …/v2/latest.json (spec 2: per-architecture packages, macOS requirements)
  --manifest-spec 1|2      the manifest spec to read (manifest_spec; default: 2 for a …/v2/… URL, else 1);
                           a spec-2 agent reads v2 only and never falls back to spec 1
  --sw-vers PATH           prints the macOS product version (sw_vers_command; default ${DEFAULT_FACTS_COMMANDS.swVers})
  --sysctl PATH            tells Apple silicon and Rosetta (sysctl_command; default ${DEFAULT_FACTS_COMMANDS.sysctl})
  --channel NAME           the channel this device follows (default stable)
  --trusted-key BASE64     a trusted Ed25519 public key; repeat for key rotation (trusted_keys; required)
  --device-id ID           the rollout cohort's id; for tests: the helper reads --device-id-file, never this
  --device-id-file FILE    the machine's device id, which the helper creates and reads too (default
                           ${defaultDeviceIdFile('darwin')} on macOS, ${defaultDeviceIdFile('linux')} elsewhere;
                           without it: a random id created once in the state folder)
  --current-version V      the running version (default: read from --version-file)
  --version-file FILE      (default ${defaultVersionFile('darwin')} on macOS, ${defaultVersionFile('linux')} elsewhere)
  --state-dir DIR          private state and downloads, mode 0700 (default ~/Library/Application Support/mngd/agent
                           on macOS, $XDG_STATE_HOME/mngd/agent or ~/.local/state/mngd/agent elsewhere)
  --helper-socket PATH     the privileged helper's socket (default ${defaultSocketPath('darwin')} on macOS)
  --log-file FILE          (default ~/Library/Logs/mngd/mngd.log on macOS, $XDG_STATE_HOME/mngd/mngd.log elsewhere)
  --ca-file FILE           extra CA certificates (PEM) for a private CDN
  --checkin-url URL        the server checkin called after each check that is not blocked (run only)
  --interval S             seconds between checks, jittered ±10% (default ${DEFAULTS.interval_seconds})
  --first-delay S          the first check waits a random time up to this (default ${DEFAULTS.first_delay_seconds})
  --floor-retry S          seconds between retries while below the floor, jittered ±50% (default ${DEFAULTS.floor_retry_seconds})
  --connect-timeout S, --read-timeout S, --install-timeout S   (defaults ${DEFAULTS.connect_timeout_seconds}, ${DEFAULTS.read_timeout_seconds}, ${DEFAULTS.install_timeout_seconds})`;
