/**
 * The overall deadline of one call (TUF's slow retrieval): the read time-out only bounds the gap
 * between two bytes, so a server dripping one byte per second would hold a download for days.
 * Past the deadline the request is aborted and HTTP_DEADLINE thrown (never retried).
 */
import { HttpError } from './errors.js';
import type { TransportOptions } from './transport.js';
import { displayUrl } from './url.js';

export async function withDeadline<T>(
  url: string,
  deadline: number | null,
  totalMs: number | undefined,
  t: TransportOptions,
  delivered: { bytes: number },
  attempt: (t: TransportOptions) => Promise<T>,
): Promise<T> {
  if (deadline === null) return attempt(t);
  const expired = () =>
    new HttpError(
      'HTTP_DEADLINE',
      displayUrl(url),
      `${displayUrl(url)}: not complete within ${((totalMs ?? 0) / 1000).toFixed(1)} s (${delivered.bytes} bytes arrived); the server or the network is too slow, retrying next interval`,
      { bytes: delivered.bytes },
    );
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw expired();
  // One signal per call, linked to the run's stop signal by a listener removed at the end. Not
  // AbortSignal.any: Node 20 keeps a composite signal with listeners in a global set until it
  // aborts, and the run's stop signal never does, so every request hanging on one stayed (the soak).
  const abort = new AbortController();
  const stop = t.signal;
  const onStop = () => abort.abort(stop?.reason);
  if (stop?.aborted === true) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  const signal = abort.signal;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    abort.abort();
  }, remaining);
  try {
    return await attempt({ ...t, signal });
  } catch (err) {
    if (late) throw expired();
    throw err;
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
}
