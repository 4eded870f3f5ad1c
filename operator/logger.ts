import winston from 'winston';

export type Logger = winston.Logger;

/** JSON lines on stderr, so stdout stays free for the CLI's own output. */
export function createLogger(level: string): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'workflow-operator' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** The message of an unknown thrown value, for log fields and status conditions. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
