#!/usr/bin/env node
// tsc writes dist/ files without the executable bit; npm sets it only when it links the package,
// so a rebuild (npm test, npm start) would leave `npx mngd-release` with "Permission denied".
// Every bin in package.json is made executable after each build.
import { chmodSync, readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { bin } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
for (const path of Object.values(bin)) chmodSync(new URL(path, root), 0o755);
