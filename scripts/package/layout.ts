/**
 * Where the mngd pkg puts things on a Mac, relative to the target volume: the one list the pkg
 * root (scripts/package/pkg-root.ts), the launchd property lists' test and docs/shipping.md agree
 * on. The property lists and packaging/macos/postinstall spell the same paths out.
 */
export const MAC_LAYOUT = {
  /** settings (agent.json, helper.json), VERSION, the device id, the agent's state */
  appDir: 'Library/Application Support/mngd',
  agentBin: 'Library/Application Support/mngd/bin/mngd-agent',
  helperBin: 'Library/PrivilegedHelperTools/mngd-helper',
  versionFile: 'Library/Application Support/mngd/VERSION',
  agentConfig: 'Library/Application Support/mngd/agent.json',
  helperConfig: 'Library/Application Support/mngd/helper.json',
  agentState: 'Library/Application Support/mngd/agent',
  agentLog: 'Library/Logs/mngd/agent.log',
  helperLog: 'var/log/mngd.log',
  launchDaemons: 'Library/LaunchDaemons',
  /** /etc is a link to /private/etc on a Mac: a payload must name the real folder */
  newsyslog: 'private/etc/newsyslog.d/mngd.conf',
} as const;

/** The LaunchDaemons the pkg installs, in the order postinstall starts them. */
export const DAEMON_LABELS = ['com.mngd.helper', 'com.mngd.agent'] as const;

/** The unprivileged user the agent's daemon runs as, and the helper's socket group. */
export const AGENT_USER = 'nobody';
