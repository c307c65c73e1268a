import { resolve } from 'node:path';
import { TributaryError } from '@tributary/shared';
import { type Command, parseOptions } from '../command.js';
import { devProject } from '../dev/project.js';
import { defaultPaths } from '../validate/files.js';
import { formatFinding } from '../validate/findings.js';
import { validatePaths } from '../validate/validate.js';

export { defaultPaths } from '../validate/files.js';
export { type Finding, formatFinding, type Severity, type ValidateResult } from '../validate/findings.js';
export {
  CONTEXT_ATTRIBUTES,
  checkAttributeName,
  checkEventType,
  editDistance,
  KNOWN_EXTENSIONS,
  knownEventTypes,
  nearest,
} from '../validate/typos.js';
export { validatePaths } from '../validate/validate.js';

const usage = `usage: tributary validate [paths...]

Checks Knative YAML before it is deployed or run by \`tributary dev\`:
  - Brokers, Triggers and ConfigMaps load (every error names its file, document and field);
  - Knative Services (service.yaml) load as the local runtime reads them;
  - every subscriber.ref / deadLetterSink.ref names a known function Service, Broker or KafkaSink;
  - warnings for a Trigger filter on an unknown event type or on an attribute that is neither a
    CloudEvents attribute nor a known extension, naming the nearest known name.
A function's trigger.yaml that eventing/config also defines (its copy) is compared with that copy.

Arguments:
  paths   YAML files or folders (read recursively). Default: the project's (the working
          directory's, as for \`tributary dev\`) eventing/config and every
          services/functions/*/trigger.yaml and service.yaml

Options:
  -q, --quiet   print only errors and warnings, not the summary
  -h, --help    show this help

Exit status: 0 valid (warnings allowed), 1 errors.`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check Broker/Trigger/Service YAML and Trigger filters against the event catalog',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, { quiet: { type: 'boolean', short: 'q' } });
    // The project is the working directory, as for `tributary dev`: its functions and Brokers are the context
    // every file is checked against, and with no paths, what is checked.
    const project = devProject();
    const paths = positionals.length > 0 ? positionals.map((p) => resolve(p)) : defaultPaths(project.dir);
    if (paths.length === 0)
      throw new TributaryError(
        `nothing to validate in ${project.dir}: it has no eventing/config folder and no services/functions/*/trigger.yaml or service.yaml. Run it in your project folder, or name the files or folders to check`,
        { code: 'CLI_NOTHING_TO_VALIDATE', retriable: false },
      );
    const result = validatePaths(paths, process.cwd(), project.dir);
    // One stream, in file order, like a linter: errors and warnings of one file stay together.
    for (const f of result.findings) io.stdout(formatFinding(f));
    const errors = result.findings.filter((f) => f.severity === 'error').length;
    const warnings = result.findings.length - errors;
    if (!values.quiet) {
      const { brokers, triggers, services } = result.counts;
      io.stdout(
        `${errors > 0 ? 'invalid' : 'valid'}: ${result.files.length} file${plural(result.files.length)}` +
          ` (${brokers} Broker${plural(brokers)}, ${triggers} Trigger${plural(triggers)},` +
          ` ${services} Service${plural(services)}); ${errors} error${plural(errors)},` +
          ` ${warnings} warning${plural(warnings)}`,
      );
    }
    return errors > 0 ? 1 : 0;
  },
};

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
