/**
 * Binary-mode Kafka records written straight from CloudEvents into one growing buffer, in the record format of
 * a Kafka RecordBatch v2 (KIP-98; https://kafka.apache.org/documentation/#record):
 *
 *   length: varint, attributes: int8, timestampDelta: varlong, offsetDelta: varint,
 *   keyLength: varint, key: byte[], valueLength: varint, value: byte[], headersCount: varint,
 *   [headerKeyLength: varint, headerKey: String, headerValueLength: varint, headerValue: byte[]]
 *
 * {@link KafkaRecordWriter.write} writes an event's record from `keyLength` to its last header (the part that
 * depends only on the event; the producer prefixes length, attributes and the two deltas once it knows the
 * record's place in its batch). The bytes are exactly those of `toKafkaMessage(event)` (key, value, headers in
 * the same order) encoded by a Kafka record encoder, without a headers object, a Buffer per header value or a
 * Buffer for the key and value: on the db-events -> Kafka path those per-record objects and copies were most
 * of the encoding's CPU and garbage (docs/BENCHMARKS.md, "Session 5").
 */
import { isJsonContentType } from './content-type.js';
import { attributeString, type CloudEventLike, recalledRawData } from './event.js';

/** A record's bytes from its key onward, and its key (a view of those bytes; null when it has none). */
export interface EncodedRecord {
  key: Buffer | null;
  /** keyLength .. last header: what a producer copies after the record's length, attributes and deltas. */
  encoded: Buffer;
}

/** Strings of at most this many UTF-16 units are written by a JS loop when ASCII (cheaper than a native call). */
const SHORT = 64;
/** Default slab: 1 MiB holds a whole 1,000-row batch of small rows; larger batches chain further slabs. */
const DEFAULT_SLAB_BYTES = 1 << 20;
/** The largest slab kept for reuse between batches. */
const MAX_KEPT_BYTES = 16 << 20;
const CONTENT_TYPE = 'content-type';

/** Node's Buffer#utf8Write (what buf.write(s, offset, length, 'utf8') calls after checking its arguments). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number, length: number): number };

/** Zigzag varint size of a non-negative 32-bit length (or -1). */
function varIntSize(value: number): number {
  let v = (value << 1) ^ (value >> 31);
  let n = 1;
  while ((v & 0xffffff80) !== 0) {
    n++;
    v >>>= 7;
  }
  return n;
}

export class KafkaRecordWriter {
  private buf: Buffer;
  private pos = 0;
  /** Where the record being written starts (moved along if the slab has to change mid-record). */
  private start = 0;
  /** Bytes of records in earlier slabs since the last reset. */
  private filled = 0;

  constructor(private readonly slabBytes = DEFAULT_SLAB_BYTES) {
    this.buf = Buffer.allocUnsafe(slabBytes);
  }

  /**
   * Lets the next records reuse the memory of those written so far. Call it only once nothing reads the
   * records any more (the producer has copied them into its request and the request is answered).
   */
  reset(): void {
    // When the records since the last reset needed more than one slab, the next slab holds them all, so
    // steady batches write into the same memory instead of fresh slabs (fresh memory costs page faults).
    // Bounded: after a burst of huge rows the writer goes back to a default slab rather than keep it all.
    const used = this.filled + this.pos;
    if (used > MAX_KEPT_BYTES) this.buf = Buffer.allocUnsafe(this.slabBytes);
    else if (used > this.buf.length) this.buf = Buffer.allocUnsafe(Math.ceil(used * 1.25));
    this.filled = 0;
    this.pos = 0;
    this.start = 0;
  }

  /** Appends `event` as a binary-mode record (see the module comment) and returns views of its bytes. */
  write(event: CloudEventLike): EncodedRecord {
    this.start = this.pos;

    // Key: the `partitionkey` extension (CloudEvents Kafka binding §3.1 "Key Mapper"), else null.
    const pk = event.partitionkey;
    let keyEnd = -1; // relative to the record's start, like every position kept across writes
    if (pk === undefined || pk === null) {
      this.ensure(1);
      this.buf[this.pos++] = 1; // zigzag(-1): null
    } else {
      this.writeString(attributeString(pk));
      keyEnd = this.pos - this.start;
    }
    const keyLength = this.lastLength;

    // Value: the data bytes as encodeData gives them (raw JSON bytes, binary data, or the JSON/text form).
    const ct0 = event.datacontenttype as string | undefined;
    // Raw bytes first, as encodeData does: `data` may be a getter that parses them (db-events' events).
    const raw = recalledRawData(event);
    const data = raw === undefined ? event.data : undefined;
    let contentType = ct0;
    if (raw !== undefined) {
      this.writeBytes(raw);
      contentType = ct0 ?? 'application/json';
    } else if (data === undefined) {
      this.ensure(1);
      this.buf[this.pos++] = 1;
    } else if (data instanceof Uint8Array) {
      this.writeBytes(data);
    } else if (isJsonContentType(ct0)) {
      this.writeString(JSON.stringify(data) ?? 'null');
      contentType = ct0 ?? 'application/json';
    } else {
      const text = typeof data === 'string' ? data : JSON.stringify(data);
      if (typeof text !== 'string') this.writeBytes(Buffer.from(text as unknown as string, 'utf8'));
      else this.writeString(text);
    }

    // Headers: a count (one byte while under 64, moved if not), then `ce_<name>` per attribute in the
    // event's own key order, then `content-type`: the order toKafkaMessage builds its headers object in.
    this.ensure(1);
    const countAt = this.pos++ - this.start;
    let count = 0;
    for (const name in event) {
      if (name === 'data' || name === 'data_base64' || name === 'datacontenttype') continue;
      const v = event[name];
      if (v === undefined || v === null || typeof v === 'function') continue;
      this.writeHeaderName(name);
      this.writeString(typeof v === 'string' ? v : attributeString(v));
      count++;
    }
    if (contentType !== undefined) {
      this.writeString(CONTENT_TYPE);
      this.writeString(contentType);
      count++;
    }
    const countSize = varIntSize(count);
    if (countSize === 1) {
      this.buf[this.start + countAt] = count << 1;
    } else {
      // Make room for the longer count: shift the headers right (rare: 64 or more attributes).
      this.ensure(countSize - 1);
      const at = this.start + countAt;
      this.buf.copyWithin(at + countSize, at + 1, this.pos);
      this.putVarInt(at, count);
      this.pos += countSize - 1;
    }

    const encoded = this.buf.subarray(this.start, this.pos);
    const key = keyEnd < 0 ? null : encoded.subarray(keyEnd - keyLength, keyEnd);
    return { key, encoded };
  }

  // --- field writers --------------------------------------------------------------------------------------

  /** Byte length of the last string or bytes written (without its varint). */
  private lastLength = 0;

  /** Room for `n` more bytes; a new slab (the record so far copied over) when the current one is full. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const partial = this.pos - this.start;
    const size = Math.max(this.slabBytes, (partial + n) * 2);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.filled += this.start;
    this.buf = next;
    this.start = 0;
    this.pos = partial;
  }

  private putVarInt(offset: number, value: number): number {
    let v = (value << 1) ^ (value >> 31);
    const buf = this.buf;
    while ((v & 0xffffff80) !== 0) {
      buf[offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[offset++] = v;
    return offset;
  }

  /** varint(byte length) + UTF-8 bytes. */
  private writeString(s: string): void {
    const n = s.length;
    if (n < SHORT) {
      // ASCII fast path: one byte per unit and a one-byte length (zigzag(n) < 128 for n < 64).
      this.ensure(n + 1);
      const buf = this.buf;
      const at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n << 1;
        this.pos = at + n;
        this.lastLength = n;
        return;
      }
    }
    // A UTF-16 unit takes at most 3 UTF-8 bytes: when n and 3n need the same varint size, write the bytes
    // first (one pass) and their length in front of them after.
    const k = varIntSize(n);
    if (varIntSize(3 * n) === k) {
      this.ensure(k + 3 * n);
      const length = (this.buf as Utf8Writable).utf8Write(s, this.pos + k, 3 * n);
      this.putVarInt(this.pos, length);
      this.pos += k + length;
      this.lastLength = length;
      return;
    }
    const length = Buffer.byteLength(s, 'utf8');
    this.ensure(length + 5);
    this.pos = this.putVarInt(this.pos, length);
    (this.buf as Utf8Writable).utf8Write(s, this.pos, length);
    this.pos += length;
    this.lastLength = length;
  }

  /** varint(length) + bytes. */
  private writeBytes(b: Uint8Array): void {
    const length = b.byteLength;
    this.ensure(length + 5);
    this.pos = this.putVarInt(this.pos, length);
    if (length <= SHORT) {
      const buf = this.buf;
      const at = this.pos;
      for (let i = 0; i < length; i++) buf[at + i] = b[i] as number;
    } else {
      this.buf.set(b, this.pos);
    }
    this.pos += length;
    this.lastLength = length;
  }

  /** The header key `ce_<name>` without building the string (names are short ASCII by the spec's rule). */
  private writeHeaderName(name: string): void {
    const n = name.length;
    if (n + 3 < SHORT) {
      this.ensure(n + 4);
      const buf = this.buf;
      const at = this.pos + 4;
      let i = 0;
      for (; i < n; i++) {
        const c = name.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === n) {
        buf[this.pos] = (n + 3) << 1;
        buf[this.pos + 1] = 0x63; // c
        buf[this.pos + 2] = 0x65; // e
        buf[this.pos + 3] = 0x5f; // _
        this.pos = at + n;
        return;
      }
    }
    this.writeString(`ce_${name}`);
  }
}
