// Logging through pino: JSON lines on stdout, one per request, fast enough to
// leave on. Credentials never reach it: only method, path, status, sizes, time.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
