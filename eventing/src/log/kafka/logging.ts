import type { Logger } from '@tributary/shared';
import kafkajs, { type logCreator } from 'kafkajs';

const { logLevel } = kafkajs;

/**
 * Routes kafkajs' own log lines to pino. kafkajs logs group joins and reconnects at INFO, which is noise for
 * a broker, so INFO becomes debug; WARN and ERROR stay.
 */
export function kafkajsLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const {
        message,
        timestamp: _t,
        logger: _l,
        ...rest
      } = entry as Record<string, unknown> & {
        message: string;
      };
      if (level === logLevel.ERROR) log.error(rest, message);
      else if (level === logLevel.WARN) log.warn(rest, message);
      else if (level === logLevel.INFO) log.debug(rest, message);
      else log.trace(rest, message);
    };
}
