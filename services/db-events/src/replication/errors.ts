import { TributaryError } from '@tributary/shared';

/**
 * The replication slot exists but db-events cannot use it: another output plugin, or another database
 * (REPLICATION_SLOT_MISMATCH, not retriable). Retrying cannot change the slot, so db-events stops (exit 1)
 * rather than retry for ever; the message says how to fix it.
 */
export class ReplicationSlotMismatchError extends TributaryError {
  constructor(slot: string, found: { plugin: string; database: string }, database: string) {
    super(
      `replication slot "${slot}" exists with plugin ${found.plugin} on database ${found.database}; ` +
        `db-events needs a pgoutput slot on ${database}: set DB_EVENTS_SLOT to another name, or drop the ` +
        `slot if nothing else uses it (SELECT pg_drop_replication_slot('${slot}'))`,
      { code: 'REPLICATION_SLOT_MISMATCH' },
    );
  }
}
