import { Duplex } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { pgConnectionOf } from './pg-connection.js';

/** One backend message of the Postgres wire protocol: type byte, int32 length (itself included), body. */
function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const AUTHENTICATION_OK = message('R', Buffer.from([0, 0, 0, 0]));
const READY_FOR_QUERY = message('Z', Buffer.from('I'));
/** CopyBothResponse: text format, no columns (what START_REPLICATION answers). */
const COPY_BOTH_RESPONSE = message('W', Buffer.from([0, 0, 0]));

/**
 * A socket standing in for the server: it answers the startup message with AuthenticationOk and
 * ReadyForQuery, and any simple query with CopyBothResponse, like a walsender given START_REPLICATION.
 */
class FakeServerSocket extends Duplex {
  readonly written: Buffer[] = [];
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.written.push(chunk);
    if (this.written.length === 1) this.push(Buffer.concat([AUTHENTICATION_OK, READY_FOR_QUERY]));
    else if (chunk[0] === 'Q'.charCodeAt(0)) this.push(COPY_BOTH_RESPONSE);
    done();
  }
}

describe("pg's private Client#connection, as the replication client uses it (installed pg)", () => {
  it('has the shape pgConnectionOf checks', () => {
    const client = new pg.Client({ stream: () => new FakeServerSocket() });
    const connection = pgConnectionOf(client);
    expect(typeof connection.sendCopyFromChunk).toBe('function');
    expect(typeof connection.stream.pause).toBe('function');
  });

  it('emits replicationStart and copyData, and sends CopyData, over the wire', async () => {
    const socket = new FakeServerSocket();
    const client = new pg.Client({ stream: () => socket });
    const connection = pgConnectionOf(client);
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err)); // the end: the socket is destroyed below
    await client.connect();

    const started = new Promise<void>((resolve) => connection.once('replicationStart', () => resolve()));
    const streaming = client.query("START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '1')");
    streaming.catch(() => undefined); // never completes: the copy stream is ended by destroying the socket
    await started;

    const chunks: Buffer[] = [];
    connection.on('copyData', (msg) => chunks.push(msg.chunk));
    const keepalive = Buffer.concat([Buffer.from('k'), Buffer.alloc(17)]);
    socket.push(message('d', keepalive));
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toEqual([keepalive]);

    const status = Buffer.from('r-status-update');
    connection.sendCopyFromChunk(status);
    expect(socket.written.at(-1)).toEqual(message('d', status));

    // Backpressure and teardown go through the same stream.
    connection.stream.pause();
    expect(socket.isPaused()).toBe(true);
    connection.stream.resume();
    expect(socket.isPaused()).toBe(false);
    connection.stream.destroy();
    expect(socket.destroyed).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((e) => e.message)).toEqual(['Connection terminated unexpectedly']);
  });

  it('refuses, as not retriable, a client whose connection lacks what replication needs', () => {
    const client = new pg.Client({ stream: () => new FakeServerSocket() });
    (client as unknown as { connection: unknown }).connection = { on() {}, stream: {} };
    expect(() => pgConnectionOf(client)).toThrow(
      expect.objectContaining({
        code: 'PG_INCOMPATIBLE',
        retriable: false,
        message: expect.stringContaining('connection.sendCopyFromChunk()'),
      }),
    );
  });
});
