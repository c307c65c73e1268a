// Root Jest config: every workspace package with a jest.config.js is a project, and the real
// services (Postgres, Kafka, MinIO) are started once for the whole run by the global setup
// unless DATABASE_URL / KAFKA_BROKERS / MINIO_ENDPOINT already point at running ones.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'services', 'services/functions'];
const projects = [];
for (const root of roots) {
  if (!existsSync(root)) continue;
  for (const name of readdirSync(root)) {
    if (existsSync(join(root, name, 'jest.config.js'))) projects.push(`<rootDir>/${root}/${name}`);
  }
}
for (const dir of ['cli', 'eventing', 'bench']) {
  if (existsSync(join(dir, 'jest.config.js'))) projects.push(`<rootDir>/${dir}`);
}

export default {
  projects,
  // The per-test limit is a global option for a multi-project run (jest-circus reads the global one), so it is
  // set here as well as in jest.preset.js: real servers on a loaded 2-core machine. Not a performance bound.
  testTimeout: 60_000,
};
