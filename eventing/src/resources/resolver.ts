import { TributaryError } from '@tributary/shared';
import type { DestinationManifest, KReference } from './schema.js';

/** A `ref` with its namespace filled in (defaults to the referring resource's). */
export type ResolvableRef = KReference & { namespace: string };

/**
 * Turns a `subscriber.ref` / `deadLetterSink.ref` (usually a Knative Service) into a URL. The local
 * runtime provides one (it knows where each function listens); on Kubernetes, Knative resolves refs.
 */
export interface DestinationResolver {
  resolve(ref: ResolvableRef): string | URL | Promise<string | URL>;
}

export class UnresolvableDestinationError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'DESTINATION_UNRESOLVABLE', cause });
  }
}

/** The default: refs cannot be resolved without a runtime that knows the services. */
export const noResolver: DestinationResolver = {
  resolve(ref) {
    throw new UnresolvableDestinationError(
      `no resolver for ref ${ref.kind} ${ref.namespace}/${ref.name} (give a subscriber.uri, or run under a runtime that resolves refs)`,
    );
  },
};

/**
 * Resolves a Destination to an absolute URL string: `uri` alone, `ref` alone, or `uri` relative to the
 * ref's URL (duckv1.Destination semantics).
 */
export async function resolveDestination(
  dest: DestinationManifest,
  namespace: string,
  resolver: DestinationResolver = noResolver,
): Promise<string> {
  if (!dest.ref) {
    if (!dest.uri) throw new UnresolvableDestinationError('destination has neither ref nor uri');
    return new URL(dest.uri).toString();
  }
  const ref: ResolvableRef = { ...dest.ref, namespace: dest.ref.namespace ?? namespace };
  const base = await resolver.resolve(ref);
  const baseUrl = new URL(base.toString());
  return dest.uri ? new URL(dest.uri, baseUrl).toString() : baseUrl.toString();
}
