import { basename, resolve } from 'node:path';
import { Client as MinioClient } from 'minio';
import { type Command, parseOptions, UsageError } from '../command.js';

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
    const endpoint = new URL(io.env.MINIO_ENDPOINT ?? 'http://127.0.0.1:9000');
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
    const res = await client.fPutObject(bucket, key, file, { 'Content-Type': contentType });
    io.stdout(`uploaded ${file} to ${endpoint.origin}/${bucket}/${key} (etag ${res.etag})`);
    return 0;
  },
};
