/** The stand-ins for macOS's `sw_vers` and `sysctl` (the demo uses them too): scripts/mac-tools.ts. */
export { macTools, type MacKind } from '../../scripts/mac-tools.js';
