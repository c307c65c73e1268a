/**
 * Turns the platform's pino JSON lines into one readable line each for `tributary dev`:
 * `12:03:04 db-events      info  replication started slot=tributary_db_events`.
 */
const LEVELS: Record<string | number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const COLORS: Record<string, string> = {
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[31m',
  debug: '\x1b[90m',
};
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'v']);

export function formatLogLine(line: string, fallbackName: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${clock(Date.now())} ${fallbackName.padEnd(16)} ${line}`;
  }
  if (!rec || typeof rec !== 'object') return line;
  const level = LEVELS[rec.level as string] ?? String(rec.level ?? 'info');
  const t =
    typeof rec.time === 'string' || typeof rec.time === 'number' ? new Date(rec.time).getTime() : Date.now();
  const name = String(rec.service ?? fallbackName);
  const extras = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const text = `${clock(t)} ${name.padEnd(16)} ${level.padEnd(5)} ${String(rec.msg ?? '')}${extras ? ` ${extras}` : ''}`;
  const c = color ? COLORS[level] : undefined;
  return c ? `${c}${text}\x1b[0m` : text;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
