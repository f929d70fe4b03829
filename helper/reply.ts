/** Writing replies on a client's connection: one line, or a last line and the end of it. */
import type { Socket } from 'node:net';
import { errorReply, MAX_REQUEST_BYTES, type HelperResponse } from './protocol.js';

/** Writes one reply line. */
export function reply(sock: Socket, r: HelperResponse): void {
  if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(r) + '\n');
}

export const TOO_LARGE = errorReply(
  null,
  'REQUEST_TOO_LARGE',
  `request exceeds ${MAX_REQUEST_BYTES} bytes; a request is one JSON line of at most 2 MiB`,
);

/** After a refusal, how long a client may go on sending (dropped) before it is cut off. */
const DRAIN_MS = 5000;

/**
 * Ends a connection after a last reply. What the client still sends is read and dropped for a
 * while: closing on unread data would reset the connection and lose the reply on its way.
 */
export function refuseAndClose(sock: Socket, r: HelperResponse | null): void {
  if (!sock.writable) return; // refused already
  if (r !== null) reply(sock, r);
  sock.removeAllListeners('data');
  sock.on('data', () => undefined);
  sock.resume();
  sock.end();
  const cut = setTimeout(() => sock.destroy(), DRAIN_MS);
  sock.once('close', () => clearTimeout(cut));
}
