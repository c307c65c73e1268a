// A module resolve hook (node:module register) for the global setup, which runs in Jest's own process, where
// Node resolves imports (not Jest): workspace packages (@tributary/*) resolve to their TypeScript sources (the
// "development" export condition, as in the test workers), so no package needs a build before a test run.
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('@tributary/') && !context.conditions.includes('development')) {
    return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'development'] });
  }
  return nextResolve(specifier, context);
}
