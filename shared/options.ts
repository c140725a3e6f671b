// What every command's options share.

/**
 * `--root` as a command line gives it. An empty value is refused, not read as the
 * current folder: `--root "$ROOT"` with the variable unset would otherwise serve,
 * check or collect wherever the command was started (a cron job's home).
 */
export function rootArg(v: string): string {
  if (!v.trim()) throw new Error('--root is empty: name the storage root folder');
  return v;
}
