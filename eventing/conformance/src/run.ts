#!/usr/bin/env node
// pnpm test:conformance: runs the same cases through Tributary and through the reference implementations
// Knative runs (sdk-go CESQL, Knative's eventfilter and Trigger validation, the CloudEvents Java SDK Kafka
// binding against a real Kafka), and fails on any difference that allow-list.yaml does not explain.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  decodeHttpEvent,
  encodeHeaderValue,
  encodeHttpBinary,
  fromKafkaMessage,
  kafkaToHttpBinary,
  toKafkaMessage,
} from '@tributary/shared';
import { runningSharedServices, startKafka, uniqueTopic } from '@tributary/testing';
import { Kafka, logLevel } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { compileCesql } from '../../src/cesql/index.js';
import { compileTriggerFilter } from '../../src/filters/compile.js';
import type { FilterSpec } from '../../src/resources/schema.js';
import { type Difference, explain, loadAllowList } from './allow-list.js';
import { cesqlExpression, EVENTS, mutate, prng, type TriggerCase, triggerSpec } from './generate.js';
import { KAFKA_CASES, type KafkaCase } from './kafka-cases.js';
import { ensureGoReference, ensureJavaReference, LineClient } from './references.js';

const USAGE = `usage: pnpm test:conformance [options]

Runs CESQL, Trigger filter and Kafka binding cases through Tributary and through the reference
implementations (built once and cached under the harness cache dir), and fails on any difference that
eventing/conformance/allow-list.yaml does not list with a reason.

options:
  --seed <n>        seed of the generated cases (default 17)
  --cesql <n>       generated CESQL expressions (default 3000)
  --filters <n>     generated Trigger filter specs, each run on every sample event (default 3000)
  --no-kafka        skip the Kafka binding cases (no Java, no Kafka)
  --show <n>        differences printed per category (default 5)
  --report <file>   also write every difference (allowed or not) as JSON to <file>
  -h, --help        this help`;

const log = (line: string) => process.stderr.write(`[conformance] ${line}\n`);

interface Tally {
  cases: number;
  agree: number;
  allowed: Map<string, number>;
  failed: Difference[];
}

function tally(): Tally {
  return { cases: 0, agree: 0, allowed: new Map(), failed: [] };
}

function record(t: Tally, difference: Difference | undefined, allowList: Set<string>): void {
  t.cases++;
  if (!difference) {
    t.agree++;
    return;
  }
  const rule = explain(difference);
  if (rule && allowList.has(rule)) t.allowed.set(rule, (t.allowed.get(rule) ?? 0) + 1);
  else t.failed.push({ ...difference, rule: rule ?? 'unexplained' });
}

// --- CESQL ------------------------------------------------------------------------------------------------

interface GoCesql {
  parseError?: boolean;
  value?: unknown;
  errorKind?: string;
  message?: string;
  panic?: string;
  bad?: string;
}

interface CesqlCase {
  name: string;
  expression: string;
  /** The event as given to both sides (JSON format). */
  event: Record<string, unknown>;
}

function ourCesql(c: CesqlCase): {
  parseError: boolean;
  value?: unknown;
  errorKinds: string[];
  errors: string[];
} {
  const compiled = compileCesql(c.expression);
  if (!compiled.ok) return { parseError: true, errorKinds: [], errors: [compiled.error.message] };
  const { value, errors } = compiled.expression.evaluate(c.event);
  return {
    parseError: false,
    value,
    errorKinds: errors.map((e) => e.kind),
    errors: errors.map((e) => e.message),
  };
}

export function compareCesql(c: CesqlCase, theirs: GoCesql): Difference | undefined {
  const ours = ourCesql(c);
  const diff = (what: string): Difference => ({
    category: 'cesql',
    name: c.name,
    what,
    input: { expression: c.expression, event: c.event },
    ours,
    theirs,
  });
  if (theirs.bad) throw new Error(`go reference refused the case ${c.name}: ${theirs.bad}`);
  if (theirs.panic) return ours.parseError ? undefined : diff('sdk-go panics');
  if (ours.parseError !== Boolean(theirs.parseError))
    return diff(ours.parseError ? 'only Tributary refuses to parse' : 'only sdk-go refuses to parse');
  if (ours.parseError) return undefined;
  if (ours.value !== theirs.value) return diff('different value');
  const theirKind = theirs.errorKind;
  if ((theirKind === undefined) !== (ours.errorKinds.length === 0))
    return diff(theirKind ? 'only sdk-go raises an error' : 'only Tributary raises an error');
  if (theirKind !== undefined && !ours.errorKinds.includes(theirKind)) return diff('different error kind');
  return undefined;
}

const PROBE_EVENT = { specversion: '1.0', id: 'p', source: '/p', type: 'probe', uni: 'héllo' };
/** Hand-written cases for the places where the CESQL spec and TCK and sdk-go are known to part ways. */
const PROBES: CesqlCase[] = [
  ["LENGTH('héllo')", 'length counts characters'],
  ['LENGTH(uni)', 'length of a non-ASCII attribute'],
  ["LEFT('héllo', 2)", 'LEFT counts characters'],
  ["SUBSTRING('héllo', 2, 2)", 'SUBSTRING counts characters'],
  ["'a_b' LIKE 'a\\_b'", 'LIKE with an escaped _'],
  ["'a%' LIKE 'a\\%'", 'LIKE with an escaped %'],
  ["'axb' LIKE 'a\\_b'", 'an escaped _ matches only _'],
  ['NOT 10', 'NOT of an integer'],
  ['10 AND TRUE', 'AND of an integer'],
  ['2147483647 + 1', 'int32 overflow on +'],
  ['-2147483648 - 1', 'int32 overflow on -'],
  ['ABS(-2147483648)', 'ABS overflow'],
  ["'it''s'", 'doubled quote in a string'],
  ['"say ""hi"""', 'doubled double quote'],
  ["INT('2147483648')", 'cast of an out-of-range string'],
  ['IS_INT(uni)', 'sdk-go IS_INT'],
].map(([expression, name]) => ({ name: name!, expression: expression!, event: PROBE_EVENT }));

function tckCases(): CesqlCase[] {
  const dir = fileURLToPath(new URL('../cesql-tck/', import.meta.url));
  const out: CesqlCase[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const suite = parseYaml(readFileSync(join(dir, file), 'utf8')) as {
      tests: {
        name: string;
        expression: string;
        event?: Record<string, unknown>;
        eventOverrides?: Record<string, unknown>;
      }[];
    };
    for (const t of suite.tests) {
      const event = {
        ...(t.event ?? { specversion: '1.0', id: 'tck-id', source: 'tck://source', type: 'tck.type' }),
        ...t.eventOverrides,
      };
      out.push({ name: `${file}: ${t.name}`, expression: String(t.expression), event });
    }
  }
  return out;
}

// --- Trigger filters --------------------------------------------------------------------------------------

interface GoFilter {
  valid?: boolean;
  validation?: string;
  result?: 'PassFilter' | 'FailFilter' | 'NoFilter';
  panic?: string;
  bad?: string;
}

export interface FilterCase {
  name: string;
  spec: TriggerCase;
  event: Record<string, string>;
}

/** Every CESQL expression of a Trigger spec. */
export function cesqlOf(spec: TriggerCase): string[] {
  const out: string[] = [];
  const walk = (f: FilterSpec | null | undefined) => {
    if (!f) return;
    if (f.cesql) out.push(f.cesql);
    for (const sub of [...(f.all ?? []), ...(f.any ?? [])]) walk(sub);
    walk(f.not);
  };
  for (const f of spec.filters ?? []) walk(f);
  return out;
}

export function compareFilter(c: FilterCase, theirs: GoFilter): Difference | undefined {
  const compiled = compileTriggerFilter(c.spec);
  const valid = compiled.issues.length === 0;
  const event = decodeHttpEvent({ 'content-type': 'application/cloudevents+json' }, JSON.stringify(c.event));
  const ours = {
    valid,
    issues: compiled.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    delivered: valid ? compiled.predicate(event) : undefined,
  };
  const diff = (what: string): Difference => ({
    category: 'filter',
    name: c.name,
    what,
    input: { spec: c.spec, event: c.event },
    ours,
    theirs,
  });
  if (theirs.bad) throw new Error(`go reference refused the case ${c.name}: ${theirs.bad}`);
  if (theirs.panic) return diff('Knative panics');
  if (valid !== theirs.valid)
    return diff(valid ? 'only Knative refuses the Trigger' : 'only Tributary refuses the Trigger');
  if (!valid) return undefined;
  const delivered = theirs.result !== 'FailFilter';
  if (ours.delivered !== delivered)
    return diff(delivered ? 'only Knative delivers' : 'only Tributary delivers');
  return undefined;
}

// --- Kafka ------------------------------------------------------------------------------------------------

interface JavaRecord {
  key: string | null;
  headers: [string, string][];
  value: string | null;
  event?: Record<string, string>;
  error?: string;
}

/** The attributes and data a decoded event carries, as strings (data as base64), for comparison. */
function view(event: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event)) {
    if (v === undefined || v === null || typeof v === 'function' || k === 'data' || k === 'data_base64')
      continue;
    out[k] = v instanceof Date ? v.toISOString() : String(v);
  }
  const encoded = event.data === undefined ? undefined : encodeHttpBinary(event).body;
  if (encoded !== undefined) out.data_base64 = encoded.toString('base64');
  return out;
}

function sameView(a: Record<string, string>, b: Record<string, string>): string | undefined {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const diffs: string[] = [];
  for (const k of [...keys].sort())
    if (a[k] !== b[k]) diffs.push(`${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
  return diffs.length ? diffs.join('; ') : undefined;
}

/** The event as an HTTP request to Tributary's ingress, in the case's mode. */
function viaIngress(c: KafkaCase) {
  const { data_base64, ...attrs } = c.event;
  const message: Record<string, unknown> = { ...attrs };
  if (data_base64 !== undefined) message.data = Buffer.from(data_base64, 'base64');
  if (c.mode === 'binary') {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'datacontenttype') headers['content-type'] = v;
      else headers[`ce-${k}`] = encodeHeaderValue(v); // HTTP binding 3.1.3.2: space, " and % percent-encoded
    }
    return decodeHttpEvent(
      headers,
      data_base64 === undefined ? undefined : Buffer.from(data_base64, 'base64'),
    );
  }
  // Structured: data as JSON text for JSON content types, a string for text, data_base64 otherwise.
  const ct = attrs.datacontenttype ?? 'application/json';
  const bytes = data_base64 === undefined ? undefined : Buffer.from(data_base64, 'base64');
  let body = JSON.stringify(attrs);
  if (bytes !== undefined) {
    const member = /json/.test(ct)
      ? `"data":${bytes.toString('utf8')}`
      : ct.startsWith('text/')
        ? `"data":${JSON.stringify(bytes.toString('utf8'))}`
        : `"data_base64":"${data_base64}"`;
    body = `${body.slice(0, -1)},${member}}`;
  }
  return decodeHttpEvent({ 'content-type': 'application/cloudevents+json' }, body);
}

async function kafkaCases(brokers: string[], allowList: Set<string>, t: Tally): Promise<void> {
  const { classpath } = await ensureJavaReference(log);
  const kafka = new Kafka({ brokers, clientId: 'tributary-conformance', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const javaTopic = uniqueTopic('conformance_java');
  const ourTopic = uniqueTopic('conformance_tributary');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: javaTopic, numPartitions: 1 },
      { topic: ourTopic, numPartitions: 1 },
    ],
  });
  const java = new LineClient('java', ['-Xmx256m', '-cp', classpath, 'dev.tributary.conformance.KafkaRef']);
  const producer = kafka.producer({ idempotent: true });
  const consumer = kafka.consumer({ groupId: uniqueTopic('conformance_group') });
  try {
    // Java SDK writes every case; Tributary writes what its ingress stores for the same request.
    const [produced] = await java.requestAll<{ ok?: boolean; fatal?: string }>([
      {
        op: 'produce',
        bootstrap: brokers.join(','),
        topic: javaTopic,
        records: KAFKA_CASES.map((c) => ({ mode: c.mode, key: c.key, event: c.event })),
      },
    ]);
    if (!produced?.ok) throw new Error(`java reference could not produce: ${produced?.fatal}`);
    await producer.connect();
    for (const c of KAFKA_CASES) {
      const m = toKafkaMessage(viaIngress(c));
      await producer.send({
        topic: ourTopic,
        acks: -1,
        messages: [{ key: m.key, value: m.value, headers: m.headers }],
      });
    }
    const [javaRead, ourRead] = await java.requestAll<{ records?: JavaRecord[]; fatal?: string }>([
      {
        op: 'consume',
        bootstrap: brokers.join(','),
        topic: javaTopic,
        count: KAFKA_CASES.length,
        timeoutMs: 60_000,
      },
      {
        op: 'consume',
        bootstrap: brokers.join(','),
        topic: ourTopic,
        count: KAFKA_CASES.length,
        timeoutMs: 60_000,
      },
    ]);
    const javaRecords = javaRead?.records ?? [];
    const ourRecords = ourRead?.records ?? [];
    if (javaRecords.length !== KAFKA_CASES.length || ourRecords.length !== KAFKA_CASES.length)
      throw new Error(
        `java reference read ${javaRecords.length}/${ourRecords.length} of ${KAFKA_CASES.length} records: ${javaRead?.fatal ?? ourRead?.fatal ?? ''}`,
      );

    KAFKA_CASES.forEach((c, i) => {
      const jr = javaRecords[i]!;
      const input = { case: c };
      const expected = c.event;
      // 1. Java wrote, Tributary reads: decoded event and the dispatcher's forwarding view.
      const raw = {
        key: jr.key === null ? null : Buffer.from(jr.key, 'base64'),
        value: jr.value === null ? null : Buffer.from(jr.value, 'base64'),
        headers: Object.fromEntries(jr.headers.map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      };
      let diff: Difference | undefined;
      try {
        const decoded = view(fromKafkaMessage(raw) as unknown as Record<string, unknown>);
        const forwarded = view(
          decodeHttpEvent(
            kafkaToHttpBinary(raw).message.headers,
            kafkaToHttpBinary(raw).message.body,
          ) as unknown as Record<string, unknown>,
        );
        const what = sameView(decoded, expected) ?? sameView(forwarded, expected);
        if (what)
          diff = {
            category: 'kafka',
            name: `${c.name} (Java SDK writes, Tributary reads)`,
            what,
            input,
            ours: decoded,
            theirs: expected,
          };
      } catch (err) {
        diff = {
          category: 'kafka',
          name: `${c.name} (Java SDK writes, Tributary reads)`,
          what: `Tributary cannot read it: ${String(err)}`,
          input,
          ours: {},
          theirs: expected,
        };
      }
      record(t, diff, allowList);
      // 2. Tributary wrote, Java reads.
      const or = ourRecords[i]!;
      diff = undefined;
      const what = or.error ? `the Java SDK cannot read it: ${or.error}` : sameView(or.event ?? {}, expected);
      if (what)
        diff = {
          category: 'kafka',
          name: `${c.name} (Tributary writes, Java SDK reads)`,
          what,
          input,
          ours: or,
          theirs: expected,
        };
      record(t, diff, allowList);
      // 3. Binary mode: the records themselves, byte for byte (key, value, headers as a set).
      if (c.mode === 'binary') {
        const norm = (r: JavaRecord) => ({
          key: r.key,
          value: r.value,
          headers: [...r.headers].map(([k, v]) => `${k}=${v}`).sort(),
        });
        const a = norm(jr);
        const b = norm(or);
        diff = undefined;
        const keyMatters = c.key === (c.event.partitionkey ?? null);
        const w: string[] = [];
        if (keyMatters && a.key !== b.key) w.push(`key ${a.key} vs ${b.key}`);
        if (a.value !== b.value) w.push('value bytes differ');
        if (a.headers.join('\n') !== b.headers.join('\n'))
          w.push(`headers [${a.headers.join(', ')}] vs [${b.headers.join(', ')}]`);
        if (w.length)
          diff = {
            category: 'kafka',
            name: `${c.name} (binary records byte for byte)`,
            what: w.join('; '),
            input,
            ours: b,
            theirs: a,
          };
        record(t, diff, allowList);
      }
    });
  } finally {
    await java.close();
    await producer.disconnect();
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [javaTopic, ourTopic] }).catch(() => {});
    await admin.disconnect();
  }
}

// --- main -------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '17' },
      cesql: { type: 'string', default: '3000' },
      filters: { type: 'string', default: '3000' },
      'no-kafka': { type: 'boolean', default: false },
      show: { type: 'string', default: '5' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const started = Date.now();
  const seed = Number(values.seed);
  const allowList = loadAllowList();
  const goBinary = await ensureGoReference(log);
  const go = new LineClient(goBinary, []);
  const results = new Map<string, Tally>();
  try {
    // CESQL: the TCK, then generated expressions (some broken on purpose) on every sample event.
    const tck = tckCases();
    const r = prng(seed);
    const generated: CesqlCase[] = [];
    for (let i = 0; i < Number(values.cesql); i++) {
      let expression = cesqlExpression(r, 1 + Math.floor(r() * 3));
      if (r() < 0.1) expression = mutate(r, expression);
      const event = EVENTS[Math.floor(r() * EVENTS.length)]!;
      generated.push({ name: `generated #${i}`, expression, event });
    }
    for (const [category, cases] of [
      ['cesql: TCK', tck],
      ['cesql: spec vs sdk-go probes', PROBES],
      ['cesql: generated', generated],
    ] as const) {
      const t = tally();
      const answers = await go.requestAll<GoCesql>(
        cases.map((c) => ({ op: 'cesql', expression: c.expression, event: c.event })),
      );
      cases.forEach((c, i) => {
        record(t, compareCesql(c, answers[i]!), allowList);
      });
      results.set(category, t);
    }

    // Trigger filters: generated specs, each on every sample event.
    const fr = prng(seed + 1);
    const filterCases: FilterCase[] = [];
    for (let i = 0; i < Number(values.filters); i++) {
      const spec = triggerSpec(fr);
      EVENTS.forEach((event, j) => {
        filterCases.push({ name: `trigger #${i} on event ${j}`, spec, event });
      });
    }
    const ft = tally();
    const fa = await go.requestAll<GoFilter>(
      filterCases.map((c) => ({ op: 'filter', ...c.spec, event: c.event })),
    );
    const filterDiffs = filterCases.map((c, i) => compareFilter(c, fa[i]!));
    // A filter difference may come from a CESQL difference: evaluate its expressions on the event too.
    const related: CesqlCase[][] = filterDiffs.map((d, i) =>
      d
        ? cesqlOf(filterCases[i]!.spec).map((expression) => ({
            name: 'related',
            expression,
            event: filterCases[i]!.event,
          }))
        : [],
    );
    const ra = await go.requestAll<GoCesql>(
      related.flat().map((c) => ({ op: 'cesql', expression: c.expression, event: c.event })),
    );
    let k = 0;
    filterDiffs.forEach((d, i) => {
      if (d) {
        d.related = [];
        for (const c of related[i]!) {
          const rd = compareCesql(c, ra[k++]!);
          if (rd) d.related.push(rd);
        }
      }
      record(ft, d, allowList);
    });
    results.set('trigger filters: generated', ft);
  } finally {
    await go.close();
  }

  if (!values['no-kafka']) {
    let brokers = process.env.KAFKA_BROKERS?.split(',');
    let stop: (() => Promise<void>) | undefined;
    brokers ??= runningSharedServices()?.env.KAFKA_BROKERS?.split(',');
    if (!brokers) {
      const k = await startKafka({ log });
      brokers = k.brokers;
      stop = () => k.stop();
    }
    const kt = tally();
    try {
      await kafkaCases(brokers, allowList, kt);
    } finally {
      await stop?.();
    }
    results.set('kafka binding (both directions)', kt);
  }

  if (values.report) {
    const all = [...results].map(([category, t]) => ({
      category,
      failed: t.failed,
      allowed: Object.fromEntries(t.allowed),
    }));
    writeFileSync(values.report, JSON.stringify(all, null, 1));
  }
  // Figures.
  const show = Number(values.show);
  let failed = 0;
  const lines = ['', 'category                            cases    agree   allow-listed   failed'];
  for (const [category, t] of results) {
    const allowed = [...t.allowed.values()].reduce((a, b) => a + b, 0);
    lines.push(
      `${category.padEnd(34)} ${String(t.cases).padStart(6)} ${String(t.agree).padStart(8)} ${String(allowed).padStart(14)} ${String(t.failed.length).padStart(8)}`,
    );
    for (const [rule, n] of [...t.allowed].sort()) lines.push(`    allowed ${rule}: ${n}`);
    failed += t.failed.length;
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const [category, t] of results) {
    for (const d of t.failed.slice(0, show)) {
      process.stdout.write(
        `\nDIFFERENCE [${category}] ${d.name}: ${d.what} (rule: ${d.rule})\n  input:  ${JSON.stringify(d.input)}\n  ours:   ${JSON.stringify(d.ours)}\n  theirs: ${JSON.stringify(d.theirs)}\n`,
      );
    }
    if (t.failed.length > show)
      process.stdout.write(`\n… and ${t.failed.length - show} more differences in ${category}\n`);
  }
  process.stdout.write(
    `\nconformance: ${failed === 0 ? 'OK' : `${failed} unexplained difference(s)`} (seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s)\n`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(2);
  },
);
