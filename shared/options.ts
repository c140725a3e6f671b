// What every command's options share.
import ms from 'ms';

/**
 * `--root` as a command line gives it. An empty value is refused, not read as the
 * current folder: `--root "$ROOT"` with the variable unset would otherwise serve,
 * check or collect wherever the command was started (a cron job's home).
 */
export function rootArg(v: string): string {
  if (!v.trim()) throw new Error('--root is empty: name the storage root folder');
  return v;
}

/**
 * A duration in ms: `90s`, `5m`, `30d` (the `ms` package), or a number of ms; undefined
 * when it is none (negative, unparsable). Callers say in their own words what is wrong.
 */
export function parseDuration(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? ms(v.trim() as ms.StringValue) : NaN;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}
