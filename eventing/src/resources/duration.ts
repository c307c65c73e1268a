/**
 * ISO-8601 durations as Knative's DeliverySpec uses them (`backoffDelay: PT0.5S`, `timeout: PT30S`).
 * Knative parses them with a calendar-aware library; a broker has no calendar to anchor years and
 * months to, so only weeks, days, hours, minutes and seconds are accepted (fractions allowed on the
 * smallest unit given, with `.` or `,`).
 */
const DURATION_RE =
  /^P(?!$)(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/** Parses an ISO-8601 duration into milliseconds (rounded), or returns an error message. */
export function parseDuration(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  const m = DURATION_RE.exec(text.trim().toUpperCase());
  if (!m) {
    const datePart = text.trim().toUpperCase().split('T')[0] ?? '';
    if (datePart.startsWith('P') && /\d[YM]/.test(datePart)) {
      return {
        ok: false,
        error: `"${text}": years and months are not supported; use weeks, days, hours, minutes or seconds`,
      };
    }
    return { ok: false, error: `"${text}" is not an ISO-8601 duration (e.g. PT0.5S, PT1M, P1D)` };
  }
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part.replace(',', '.')) * (UNIT_MS[i] as number);
  }
  return { ok: true, ms: Math.round(ms) };
}

/** Formats milliseconds as a compact ISO-8601 duration (`PT1.5S`), for messages and docs. */
export function formatDuration(ms: number): string {
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}
