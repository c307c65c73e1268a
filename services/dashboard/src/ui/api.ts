// The dashboard's JSON API as the page calls it.

export class ApiError extends Error {}

/**
 * Calls the API. State-changing calls always send JSON: the dashboard refuses other content types (CSRF
 * guard). A 502 (a redrive the ingress refused) answers its body; any other non-2xx throws its message.
 */
export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const write = method !== 'GET';
  const res = await fetch(path, {
    method,
    headers: write ? { 'content-type': 'application/json' } : {},
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok && res.status !== 502)
    throw new ApiError((json as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
