import winston from 'winston';

export type Logger = winston.Logger;

/** JSON lines on stderr, so stdout stays free for a CLI's own output. */
export function createLogger(level: string): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'workflow-router' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
