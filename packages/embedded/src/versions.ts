// The pinned external versions, read from the repository's versions.json (the one place each is set).
import { existsSync, readFileSync } from 'node:fs';

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

/**
 * The copy next to the built module (the build puts one in dist/, so an installed package has it), else
 * `versions.json` at the repository root (src/ is three levels below it).
 */
export const VERSIONS_FILE = [
  new URL('./versions.json', import.meta.url),
  new URL('../../../versions.json', import.meta.url),
].find((u) => existsSync(u))!;

export const VERSIONS: Versions = JSON.parse(readFileSync(VERSIONS_FILE, 'utf8')) as Versions;
