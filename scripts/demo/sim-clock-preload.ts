/**
 * Loaded into the demo's agents and helpers with `node --import` (through NODE_OPTIONS, see
 * sim-clock.ts) to move their wall clock, as libfaketime would, with nothing to install: `Date`
 * (`new Date()`, `Date.now()`, `Date()`) reads the real time plus the offset in milliseconds
 * written in MNGD_DEMO_CLOCK_FILE, read again at each call so that a helper that keeps running
 * follows the demo's days. Timers and the monotonic clock are untouched, and TLS checks
 * certificates at the real time (OpenSSL's own clock). The programs' code is unchanged.
 */
import { readFileSync } from 'node:fs';

const file = process.env['MNGD_DEMO_CLOCK_FILE'];
if (file !== undefined && file !== '') {
  const Real = Date;
  const realNow = Real.now.bind(Real);
  const now = (): number => {
    const text = readFileSync(file, 'utf8').trim();
    const offset = Number(text);
    if (text === '' || !Number.isFinite(offset))
      throw new Error(`MNGD_DEMO_CLOCK_FILE ${file} holds ${JSON.stringify(text)}, not an offset in milliseconds`);
    return realNow() + offset;
  };
  globalThis.Date = new Proxy(Real, {
    construct: (target, args: unknown[], newTarget: NewableFunction) =>
      Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget) as object,
    apply: () => new Real(now()).toString(),
    get: (target, prop, receiver) => (prop === 'now' ? now : (Reflect.get(target, prop, receiver) as unknown)),
  });
}
