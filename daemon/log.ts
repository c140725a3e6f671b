// Logging through pino: JSON lines on stdout, one per request, fast enough to
// leave on. Credentials never reach it: only method, path, status, sizes, time and
// the signed-in user's name; the redaction below is a second guard should a
// header or token ever be passed in by mistake.
import { type DestinationStream, pino, type Logger } from 'pino';

const REDACT = [
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token',
];

/**
 * Lines gather in memory and go out in one write per BUFFER bytes, or within FLUSH_MS
 * when the daemon is quiet, so that no request pays a system call for its line.
 * Warnings and errors go out at once, and what is held is written
 * before the process exits (after an uncaught error too); only a SIGKILL or a fatal
 * abort loses the last FLUSH_MS of request lines.
 */
const BUFFER = 4096;
const FLUSH_MS = 200;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const stream = destination ?? pino.destination({ dest: 1, sync: false, minLength: BUFFER, periodicFlush: FLUSH_MS });
  return pino({
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    hooks: {
      logMethod(args, method, levelValue) {
        method.apply(this, args);
        if (levelValue >= pino.levels.values.warn!) this.flush();
      },
    },
  }, stream);
}
