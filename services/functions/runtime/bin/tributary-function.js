#!/usr/bin/env node
// The `tributary-function` command: the runtime's build (`pnpm build`). A file of its own, so that `pnpm install`
// can link the command before anything is built.
import '../dist/main.js';
