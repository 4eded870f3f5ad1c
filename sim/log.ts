// One line per event on stderr, quiet by default (--log-level warn): a simulator running
// under a benchmark must not spend its time logging requests.

import winston from 'winston';
import type { LogLevel } from './options.ts';

export type Logger = winston.Logger;

/** A logger for one pod; every line names it. */
export function createLogger(level: LogLevel, pod: number): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf(({ timestamp, level: lvl, message, ...meta }) => {
        const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
        return `${String(timestamp)} vllm-sim pod ${pod} ${lvl}: ${String(message)}${extra}`;
      }),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
