/** Keeps only the last `limit` bytes of a stream: an installer flooding its output cannot grow memory. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** bytes seen in total, kept or not */
  total = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (chunk.length >= this.limit) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.limit))];
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The kept bytes as text; a character cut at the start is dropped, and a cut is marked. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.limit) buf = buf.subarray(buf.length - this.limit);
    let start = 0;
    // Skip UTF-8 continuation bytes left over from a character cut in half.
    while (start < buf.length && start < 4 && (buf[start]! & 0xc0) === 0x80) start++;
    const text = buf.subarray(start).toString('utf8');
    return this.total > buf.length ? `[... ${this.total - buf.length + start} earlier bytes dropped]\n${text}` : text;
  }
}
