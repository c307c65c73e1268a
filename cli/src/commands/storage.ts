import {
  type BucketRule,
  loadSetupEnv,
  minioConnectionFromEnv,
  parseBucketRules,
  RuleSyntaxError,
  setupBucketNotifications,
} from '@tributary/storage-events/setup';
import { type Command, parseOptions, UsageError } from '../command.js';

const usage = `usage: tributary storage setup [--bucket <rule>]... [--target-id <id>]

Configures MinIO bucket notification rules that send events to storage-events (the MinIO webhook
target arn:minio:sqs::<id>:webhook). Idempotent: rules of other targets are kept, ours become exactly
the configured ones, and a bucket's configuration is written only when that changes it.

Options:
  -b, --bucket <rule>   a rule, e.g. uploads:prefix=images/:suffix=.jpg:events=put|delete
                        (repeatable; replaces STORAGE_EVENTS_BUCKETS)
  -t, --target-id <id>  the <ID> of MINIO_NOTIFY_WEBHOOK_*_<ID> (default: $STORAGE_EVENTS_TARGET_ID, else TRIBUTARY)
  -h, --help            show this help

Environment:
  MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY   the MinIO server (required)
  MINIO_REGION                                         its region, if it sets one
  STORAGE_EVENTS_BUCKETS                               rules, as in services/storage-events/README.md`;

export const storageCommand: Command = {
  name: 'storage',
  summary: 'configure MinIO bucket notifications for storage-events (tributary storage setup)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      bucket: { type: 'string', short: 'b', multiple: true },
      'target-id': { type: 'string', short: 't' },
    });
    if (positionals[0] !== 'setup' || positionals.length !== 1) {
      throw new UsageError(
        positionals.length ? `unknown subcommand "${positionals.join(' ')}"` : 'missing subcommand',
      );
    }
    const env = loadSetupEnv({
      ...io.env,
      ...(values['target-id'] !== undefined ? { STORAGE_EVENTS_TARGET_ID: values['target-id'] } : {}),
      // --bucket replaces the env rules; they are validated below with the same parser.
      ...(values.bucket ? { STORAGE_EVENTS_BUCKETS: undefined } : {}),
    });
    let rules: BucketRule[] = env.STORAGE_EVENTS_BUCKETS;
    if (values.bucket) {
      try {
        rules = values.bucket.flatMap((b) => parseBucketRules(b));
      } catch (err) {
        if (err instanceof RuleSyntaxError) throw new UsageError(`--bucket: ${err.message}`);
        throw err;
      }
    }
    if (rules.length === 0) throw new UsageError('no rules: pass --bucket or set STORAGE_EVENTS_BUCKETS');
    const minio = minioConnectionFromEnv(env);
    if (!minio) {
      io.stderr('tributary storage: set MINIO_ENDPOINT, MINIO_ACCESS_KEY and MINIO_SECRET_KEY');
      return 1;
    }
    const results = await setupBucketNotifications({
      minio,
      targetId: env.STORAGE_EVENTS_TARGET_ID,
      rules,
    });
    for (const r of results) {
      const what = r.rules
        .map(
          (x) =>
            `${x.events.join('|')}${x.prefix ? ` prefix=${x.prefix}` : ''}${x.suffix ? ` suffix=${x.suffix}` : ''}`,
        )
        .join('; ');
      io.stdout(`${r.bucket}: ${r.changed ? 'configured' : 'unchanged'} (${what})`);
    }
    return 0;
  },
};
