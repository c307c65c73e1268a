import { z } from 'zod';

/**
 * zod schemas for the Knative resources a broker folder holds: `Broker` and `Trigger`
 * (eventing.knative.dev/v1) and the Kafka broker's `ConfigMap`. Specs are strict (an unknown field is
 * most likely a typo), metadata and status are passed through as Kubernetes allows many fields there.
 * Filter dialect rules (one dialect per filter object, valid attribute names, valid
 * CESQL) are checked after parsing, in `filters/compile.ts`, so their errors carry precise paths.
 */

/** Knative attribute names in filters: lowercase alphanumeric, starting with a letter. */
export const ATTRIBUTE_NAME_RE = /^[a-z][a-z0-9]*$/;

const nonEmpty = z.string().min(1, 'must not be empty');

export const metadataSchema = z
  .object({
    name: nonEmpty,
    namespace: nonEmpty.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

export const kReferenceSchema = z
  .object({
    apiVersion: nonEmpty.optional(),
    kind: nonEmpty,
    name: nonEmpty,
    namespace: nonEmpty.optional(),
  })
  .passthrough();

/** duckv1.Destination: a `ref` (resolved to a URL), a `uri`, or both (`uri` relative to the ref's URL). */
export const destinationSchema = z
  .object({
    ref: kReferenceSchema.optional(),
    uri: nonEmpty.optional(),
    CACerts: z.string().optional(),
    audience: z.string().optional(),
  })
  .strict()
  .refine((d) => d.ref !== undefined || d.uri !== undefined, {
    message: 'expected exactly one of ref or uri (or uri relative to ref)',
  });

/** eventing duckv1.DeliverySpec, plus Tributary's `backoffMax` cap. */
export const deliverySchema = z
  .object({
    deadLetterSink: destinationSchema.optional(),
    retry: z.number().int().min(0).optional(),
    backoffPolicy: z.enum(['linear', 'exponential']).optional(),
    backoffDelay: nonEmpty.optional(),
    timeout: nonEmpty.optional(),
    retryAfterMax: nonEmpty.optional(),
    backoffMax: nonEmpty.optional(),
  })
  .strict();

/** One element of `spec.filters` (the SubscriptionsAPI filter). Dialect rules are checked later. */
export type FilterSpec = {
  exact?: Record<string, string> | null;
  prefix?: Record<string, string> | null;
  suffix?: Record<string, string> | null;
  all?: FilterSpec[] | null;
  any?: FilterSpec[] | null;
  not?: FilterSpec | null;
  cesql?: string | null;
};

// `null` is accepted wherever Knative's Go types would read it as absent (a YAML key with no value).
export const filterSpecSchema: z.ZodType<FilterSpec> = z.lazy(() =>
  z
    .object({
      exact: z.record(z.string(), z.string()).nullish(),
      prefix: z.record(z.string(), z.string()).nullish(),
      suffix: z.record(z.string(), z.string()).nullish(),
      all: z.array(filterSpecSchema).nullish(),
      any: z.array(filterSpecSchema).nullish(),
      not: filterSpecSchema.nullish(),
      cesql: z.string().nullish(),
    })
    .strict(),
);

export const brokerSchema = z
  .object({
    apiVersion: z.literal('eventing.knative.dev/v1'),
    kind: z.literal('Broker'),
    metadata: metadataSchema,
    spec: z
      .object({
        config: kReferenceSchema.optional(),
        delivery: deliverySchema.optional(),
      })
      .strict()
      .optional(),
    status: z.unknown().optional(),
  })
  .strict();

export const triggerSchema = z
  .object({
    apiVersion: z.literal('eventing.knative.dev/v1'),
    kind: z.literal('Trigger'),
    metadata: metadataSchema,
    spec: z
      .object({
        broker: nonEmpty,
        filter: z
          .object({ attributes: z.record(z.string(), z.string()).nullish() })
          .strict()
          .nullish(),
        filters: z.array(filterSpecSchema).nullish(),
        subscriber: destinationSchema,
        delivery: deliverySchema.optional(),
      })
      .strict(),
    status: z.unknown().optional(),
  })
  .strict();

export const configMapSchema = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('ConfigMap'),
    metadata: metadataSchema,
    data: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

export type BrokerManifest = z.infer<typeof brokerSchema>;
export type TriggerManifest = z.infer<typeof triggerSchema>;
export type ConfigMapManifest = z.infer<typeof configMapSchema>;
export type DeliveryManifest = z.infer<typeof deliverySchema>;
export type DestinationManifest = z.infer<typeof destinationSchema>;
export type KReference = z.infer<typeof kReferenceSchema>;
