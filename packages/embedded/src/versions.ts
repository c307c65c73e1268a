// The pinned external versions, read from the repository's versions.json (the one place each is set).
import { readFileSync } from 'node:fs';

interface Pin {
  version: string;
  why: string;
}

export interface Versions {
  node: Pin;
  postgres: Pin;
  kafka: Pin & { scala: string };
  minio: Pin & { module: string };
  kustomize: Pin & { module: string };
  kubernetes: Pin;
  knative: Pin;
  strimzi: Pin;
  prometheus: Pin & { module: string };
}

/** `versions.json` at the repository root (src/ and dist/ are both three levels below it). */
export const VERSIONS_FILE = new URL('../../../versions.json', import.meta.url);

export const VERSIONS: Versions = JSON.parse(readFileSync(VERSIONS_FILE, 'utf8')) as Versions;
