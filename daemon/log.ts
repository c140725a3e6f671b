// Logging through pino: JSON lines on stdout, one per request, fast enough to
// leave on. Credentials never reach it: only method, path, status, sizes, time and
// the signed-in user's name; the redaction below is a second guard should a
// header or token ever be passed in by mistake.
import { type DestinationStream, pino, type Logger } from 'pino';

const REDACT = [
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
