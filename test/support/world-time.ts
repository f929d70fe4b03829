/**
 * The time a test's world is at: the `now` the last command context was given (publish-repo.ts),
 * else the real clock. s3rver answers with it in its Date header (s3rver.ts), so the object
 * store's clock agrees with a publisher the test moved in time, as real clocks agree; a test that
 * wants them apart gives s3rver a clock of its own (startS3rver({ clock }), s3.setClock).
 */
let current: Date | null = null;

export function worldTime(): Date {
  return current ?? new Date();
}

/** null: the real clock again */
export function setWorldTime(t: Date | null): void {
  current = t;
}
