#!/usr/bin/env node
import { main } from './main.js';

// No top-level await: the single executable (npm run package) runs this file as CommonJS.
void main(process.argv.slice(2), {
  stdout: { write: (t) => void process.stdout.write(t) },
  stderr: { write: (t) => void process.stderr.write(t) },
}).then((code) => (process.exitCode = code));
