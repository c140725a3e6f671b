// A byte-counting progress bar on stderr, only on a terminal (none when piped or in tests).
import cliProgress from 'cli-progress';
import prettyBytes from 'pretty-bytes';

export type OnBytes = (bytes: number) => void;

export class ByteProgress {
  private bar: cliProgress.SingleBar | undefined;
  private done = 0;

  constructor(private readonly label: string, private readonly enabled: boolean = Boolean(process.stderr.isTTY)) {}

  start(total: number): void {
    if (!this.enabled) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `${this.label} [{bar}] {percentage}% {done}/{size}`,
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(total, 1), 0, { done: prettyBytes(0), size: prettyBytes(total) });
  }

  /** Grows the total as more work is discovered (mirror learns sizes as it goes). */
  grow(more: number): void {
    this.bar?.setTotal(this.bar.getTotal() + more);
    this.bar?.update(this.done, { size: prettyBytes(this.bar.getTotal()) });
  }

  add = (bytes: number): void => {
    this.done += bytes;
    this.bar?.update(this.done, { done: prettyBytes(this.done) });
  };

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
