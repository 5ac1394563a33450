/**
 * Progress of a long pass over a journal, on stderr (stdout carries the results):
 *   - on a TTY, a cli-progress bar with the rate (events/s) and ETA;
 *   - otherwise plain lines, at most one per interval (EXCHANGE_AUDIT_PROGRESS_MS, default
 *     2000 ms), and a final summary line, so logs of CI jobs and cron runs stay readable.
 * Disabled entirely with --no-progress.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ProgressOptions {
  enabled: boolean;
  stream?: NodeJS.WriteStream;
  /** Minimum time between plain lines (non-TTY). */
  intervalMs?: number;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}K`;
  return perSecond.toFixed(0);
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60).toString().padStart(2, '0')}s`;
}

export class Progress {
  private readonly started = performance.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly bar: SingleBar | undefined;
  private readonly intervalMs: number;
  private lastLine = 0;
  private done = 0;
  private finished = false;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly options: ProgressOptions,
  ) {
    this.stream = options.stream ?? process.stderr;
    this.intervalMs = options.intervalMs ?? Number(process.env.EXCHANGE_AUDIT_PROGRESS_MS ?? 2000);
    this.lastLine = this.started;
    if (options.enabled && this.stream.isTTY === true) {
      this.bar = new SingleBar({
        format: `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}`,
        stream: this.stream,
        hideCursor: true,
        etaBuffer: 40,
        fps: 5,
        clearOnComplete: false,
      }, Presets.shades_classic);
      this.bar.start(Math.max(total, 1), 0, { rate: '-' });
    }
  }

  setTotal(total: number): void {
    this.total = total;
    this.bar?.setTotal(Math.max(total, 1));
  }

  update(done: number): void {
    this.done = done;
    if (!this.options.enabled || this.finished) return;
    const now = performance.now();
    const rate = done / Math.max((now - this.started) / 1000, 1e-9);
    if (this.bar !== undefined) {
      this.bar.update(Math.min(done, Math.max(this.total, 1)), { rate: formatRate(rate) });
      return;
    }
    if (now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    const percent = this.total > 0 ? ` (${((100 * done) / this.total).toFixed(1)}%)` : '';
    const eta = this.total > 0 && rate > 0 ? `, ETA ${formatSeconds((this.total - done) / rate)}` : '';
    this.stream.write(`${this.label}: ${done}/${this.total} events${percent}, ${formatRate(rate)} ev/s${eta}\n`);
  }

  /** Ends the bar (or prints the summary line); returns the elapsed seconds. */
  finish(done = this.done): number {
    const seconds = (performance.now() - this.started) / 1000;
    if (this.finished) return seconds;
    this.finished = true;
    this.done = done;
    if (!this.options.enabled) return seconds;
    const rate = formatRate(done / Math.max(seconds, 1e-9));
    if (this.bar !== undefined) {
      this.bar.update(Math.min(done, Math.max(this.total, 1)), { rate });
      this.bar.stop();
    } else {
      this.stream.write(`${this.label}: ${done} events in ${seconds.toFixed(2)} s (${rate} ev/s)\n`);
    }
    return seconds;
  }
}
