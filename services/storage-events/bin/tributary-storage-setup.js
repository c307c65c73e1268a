#!/usr/bin/env node
// The `tributary-storage-setup` command: the build of src/setup-cli.ts (`pnpm build`). A file of its own, so
// that `pnpm install` can link the command before anything is built.
import '../dist/setup-cli.js';
