import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Client as MinioClient } from 'minio';
import { type Command, parseOptions, ServiceUnavailableError, UsageError } from '../command.js';

const usage = `usage: tributary upload <file> [--bucket <bucket>] [--key <key>] [--content-type <type>]

Uploads a file to MinIO (by default the one \`tributary dev\` runs), which sends storage-events a bucket
notification: a dev.tributary.storage.object.created event lands on the broker.

Options:
  -b, --bucket <bucket>       bucket (default: uploads)
  -k, --key <key>             object key (default: the file's name)
      --content-type <type>   Content-Type stored with the object (default: guessed from the extension)
  -h, --help                  show this help

Environment:
  MINIO_ENDPOINT      default http://127.0.0.1:9000
  MINIO_ACCESS_KEY    default minioadmin
  MINIO_SECRET_KEY    default minioadmin`;

const DEFAULT_MINIO_ENDPOINT = 'http://127.0.0.1:9000';

/** A mistake of the caller that the message fully explains (no stack trace, exit 1). */
class UserInputError extends Error {
  override name = 'UserInputError';
}

/**
 * Fails fast, naming MinIO and how to start it, when nothing answers at the endpoint (the MinIO client would
 * otherwise retry for half a minute and end with a bare ECONNREFUSED).
 */
async function checkMinio(endpoint: URL, custom: boolean): Promise<void> {
  try {
    await fetch(new URL('/minio/health/live', endpoint), { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    throw new ServiceUnavailableError(
      'MinIO',
      endpoint.origin,
      custom
        ? 'Check MINIO_ENDPOINT, or unset it to use the MinIO of `pnpm tributary dev`.'
        : 'Start it with `pnpm tributary dev` (MinIO on port 9000), or set MINIO_ENDPOINT to a running MinIO.',
      err,
    );
  }
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  json: 'application/json',
  csv: 'text/csv',
  html: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
};

export const uploadCommand: Command = {
  name: 'upload',
  summary: 'upload a file to MinIO (the dev platform by default) to trigger storage events',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      bucket: { type: 'string', short: 'b' },
      key: { type: 'string', short: 'k' },
      'content-type': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one file');
    const file = resolve(positionals[0]!);
    try {
      if (!statSync(file).isFile()) throw new UsageError(`${positionals[0]} is not a file`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read ${positionals[0]} (${(err as NodeJS.ErrnoException).code})`);
    }
    let endpoint: URL;
    try {
      endpoint = new URL(io.env.MINIO_ENDPOINT ?? DEFAULT_MINIO_ENDPOINT);
    } catch {
      throw new UsageError(`MINIO_ENDPOINT must be a URL, got "${io.env.MINIO_ENDPOINT}"`);
    }
    await checkMinio(endpoint, io.env.MINIO_ENDPOINT !== undefined);
    const client = new MinioClient({
      endPoint: endpoint.hostname,
      port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
      useSSL: endpoint.protocol === 'https:',
      accessKey: io.env.MINIO_ACCESS_KEY ?? 'minioadmin',
      secretKey: io.env.MINIO_SECRET_KEY ?? 'minioadmin',
    });
    const bucket = values.bucket ?? 'uploads';
    const key = values.key ?? basename(file);
    const ext = file.split('.').pop()?.toLowerCase() ?? '';
    const contentType = values['content-type'] ?? TYPES[ext] ?? 'application/octet-stream';
    const res = await client.fPutObject(bucket, key, file, { 'Content-Type': contentType }).catch((err) => {
      const code = (err as { code?: string }).code;
      if (code === 'NoSuchBucket')
        throw new UserInputError(
          `bucket "${bucket}" does not exist at ${endpoint.origin} (\`tributary dev\` creates "uploads")`,
        );
      if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch')
        throw new UserInputError(
          `MinIO at ${endpoint.origin} refused the credentials (${code}): check MINIO_ACCESS_KEY and MINIO_SECRET_KEY`,
        );
      throw err;
    });
    io.stdout(`uploaded ${file} to ${endpoint.origin}/${bucket}/${key} (etag ${res.etag})`);
    return 0;
  },
};
