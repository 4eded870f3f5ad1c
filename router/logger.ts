import winston from 'winston';

export type Logger = winston.Logger;

/** Log fields that may carry prompts or agent messages. */
const BODY_FIELDS = ['body', 'payload', 'prompt'] as const;

/**
 * Keeps request bodies out of the logs unless `--log-bodies` (docs/security.md): a body-like
 * field that reaches a log line anyway is replaced by a marker.
 */
const redactBodies = winston.format((info, options: unknown) => {
  const logBodies = (options as { logBodies?: () => boolean } | undefined)?.logBodies;
  if (logBodies?.() === true) return info;
  for (const field of BODY_FIELDS)
    if (info[field] !== undefined) info[field] = '[redacted: --log-bodies is off]';
  if (Array.isArray(info.messages)) info.messages = '[redacted: --log-bodies is off]';
  return info;
});

/** JSON lines on stderr, so stdout stays free for a CLI's own output. */
export function createLogger(level: string, options: { logBodies?: () => boolean } = {}): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(redactBodies(options), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'workflow-router' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
