import { TributaryError } from '@tributary/shared';
import type { Admin, Consumer } from 'kafkajs';
import type { PartitionReplay, ReplayOptions, ReplayResult } from '../types.js';

/**
 * Replay on the Kafka log: one consumer group (a Trigger, `knative-trigger-<ns>-<name>`) moves back to the
 * offsets for a time (ListOffsets by timestamp, KIP-79) or to the log start; no other group is touched.
 *
 * Kafka refuses to change a group's offsets from outside while it has members, so where the group runs
 * decides how:
 * - no members (no dispatcher runs): the committed offsets are set directly (`admin.setOffsets`), and a
 *   dispatcher that starts later resumes there;
 * - every member is a consumer of this process (the broker that runs the Trigger): each one commits the new
 *   offsets as a member of the group and seeks there (`seek`). Commits of records it handed over before are
 *   dropped from then on until the first batch from the new position reaches the dispatcher, whose offset
 *   tracker then sees the rewind and ignores the progress of the earlier records;
 * - members in another process (another broker replica, the Knative Kafka broker's dispatcher): refused
 *   with GROUP_ACTIVE (409). Replay through the broker that runs the Trigger, or stop its consumers first.
 */

/** What replay needs of a running subscription of this process (the Kafka log's KafkaSubscription). */
export interface RewindableSubscription {
  readonly groupId: string;
  readonly topic: string;
  /** The consumer's member id in its group, once it joined. */
  readonly memberId: string | undefined;
  /** Partitions of `topic` assigned to it in the current generation. */
  readonly assigned: readonly number[];
  rewind(targets: Map<number, string>): Promise<void>;
}

/** Per-partition current position, target and redelivered count; nothing moves. */
export async function planKafkaReplay(
  admin: Admin,
  topic: string,
  groupId: string,
  from: ReplayOptions['from'],
): Promise<PartitionReplay[]> {
  const [[committed], ends, atTime] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
    // For each partition the earliest offset whose timestamp is at or after `from`, or the end offset.
    from === 'earliest' ? undefined : admin.fetchTopicOffsetsByTimestamp(topic, from.getTime()),
  ]);
  const committedBy = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  const timeBy = new Map((atTime ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return ends
    .map((end): PartitionReplay => {
      const low = BigInt(end.low);
      const high = BigInt(end.high);
      const stored = committedBy.get(end.partition) ?? -1n;
      const current = stored < 0n ? high : stored;
      let target = from === 'earliest' ? low : (timeBy.get(end.partition) ?? high);
      if (target > current) target = current; // only ever back: nothing is skipped
      const start = current > low ? current : low;
      return {
        partition: end.partition,
        current: stored < 0n ? null : String(stored),
        target: String(target),
        events: start > target ? Number(start - target) : 0,
      };
    })
    .sort((a, b) => a.partition - b.partition);
}

export async function replayKafka(
  admin: Admin,
  topic: string,
  groupId: string,
  options: ReplayOptions,
  local: readonly RewindableSubscription[],
): Promise<ReplayResult> {
  const partitions = await planKafkaReplay(admin, topic, groupId, options.from);
  const moves = partitions.filter((p) => p.current === null || p.target !== p.current);
  if (options.dryRun || moves.length === 0) return { groupId, partitions, applied: 'none' };

  const { groups } = await admin.describeGroups([groupId]);
  const members = groups[0]?.members ?? [];
  if (members.length === 0) {
    try {
      await admin.setOffsets({
        groupId,
        topic,
        partitions: moves.map((p) => ({ partition: p.partition, offset: p.target })),
      });
    } catch (err) {
      if (/no running instances/.test((err as Error).message))
        throw groupActive(groupId, 'a consumer joined it meanwhile; try again', err);
      throw err;
    }
    return { groupId, partitions, applied: 'offsets' };
  }

  const mine = local.filter((s) => s.groupId === groupId && s.topic === topic);
  const byMember = new Set(mine.map((s) => s.memberId));
  if (!members.every((m) => byMember.has(m.memberId))) throw groupActive(groupId);
  const perOwner = new Map<RewindableSubscription, Map<number, string>>();
  for (const p of moves) {
    const owner = mine.find((s) => s.assigned.includes(p.partition));
    if (!owner)
      throw groupActive(
        groupId,
        `partition ${p.partition} has no consumer right now (rebalancing); try again`,
      );
    const targets = perOwner.get(owner) ?? new Map<number, string>();
    targets.set(p.partition, p.target);
    perOwner.set(owner, targets);
  }
  await Promise.all([...perOwner].map(([owner, targets]) => owner.rewind(targets)));
  return { groupId, partitions, applied: 'seek' };
}

function groupActive(groupId: string, why?: string, cause?: unknown): TributaryError {
  return new TributaryError(
    why
      ? `consumer group ${groupId}: ${why}`
      : `consumer group ${groupId} has members in another process (another broker, or the Knative Kafka ` +
          "broker's dispatcher): replay through the broker that runs the Trigger, or stop its consumers first",
    { code: 'GROUP_ACTIVE', statusCode: 409, retriable: true, cause },
  );
}

/**
 * Partitions of a running subscription that are being rewound: their commits are dropped from the moment
 * a replay starts until the first batch from the new position is handed over (`open`), so progress of
 * records handed over before cannot overwrite the replay's committed offset.
 */
export class RewindGate {
  private readonly closed = new Set<number>();

  /** Whether a commit of this partition must be dropped. */
  blocks(partition: number): boolean {
    return this.closed.has(partition);
  }

  /** A batch of the partition is about to be handed over (called only for batches kafkajs did not mark stale). */
  open(partition: number): void {
    this.closed.delete(partition);
  }

  /** A new generation of the group: positions restart from the committed offsets. */
  reset(): void {
    this.closed.clear();
  }

  /**
   * Rewinds partitions of a running consumer: closes the gate and seeks at once (kafkajs then treats every
   * batch of the partition fetched before as stale, so the gate opens only for a batch from the target),
   * lets commits already sent finish, then commits the targets as a member of the group, so a restart
   * resumes there too. A dispatcher commit that lands later is of records from the target on.
   */
  async rewind(
    consumer: Consumer,
    topic: string,
    targets: Map<number, string>,
    commitsSent: () => Promise<unknown>,
  ): Promise<void> {
    const list = [...targets].map(([partition, offset]) => ({ topic, partition, offset }));
    for (const s of list) {
      this.closed.add(s.partition);
      consumer.seek(s);
    }
    await commitsSent();
    await consumer.commitOffsets(list);
  }
}
