/** Sequential big-endian reader over one pgoutput message. */
export class BufferReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  /** The message being read. */
  get buffer(): Buffer {
    return this.buf;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  byte(): number {
    const v = this.buf[this.offset];
    if (v === undefined) throw new RangeError('pgoutput: read past the end of the message');
    this.offset += 1;
    return v;
  }

  int16(): number {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new RangeError('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }

  /** `n` bytes, copied (the underlying socket buffer must not be retained). */
  bytes(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw new RangeError('pgoutput: read past the end of the message');
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  /** Skips `n` bytes; returns where they start. */
  skip(n: number): number {
    if (n < 0 || this.offset + n > this.buf.length)
      throw new RangeError('pgoutput: read past the end of the message');
    const at = this.offset;
    this.offset += n;
    return at;
  }

  utf8(n: number): string {
    if (this.offset + n > this.buf.length) throw new RangeError('pgoutput: read past the end of the message');
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}
