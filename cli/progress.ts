/**
 * A progress bar on stderr, only when stderr is a terminal: in a pipe, a log file or a test it would
 * be noise (and stdout stays clean for --json in every case).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Work done so far, in the unit of the total. */
  update(done: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function createProgress(total: number, enabled: boolean, label: string): Progress {
  if (!enabled || !process.stderr.isTTY || total <= 0) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {percentage}% | {duration_formatted} elapsed | ETA {eta_formatted}`,
      // The loop is synchronous, so Ctrl+C ends the process without a chance to restore the terminal:
      // change no terminal mode (cursor, line wrapping) that would then stay changed.
      hideCursor: false,
      linewrap: true,
      clearOnComplete: true,
      // The work loop is synchronous: render from update() rather than from a timer that cannot fire.
      synchronousUpdate: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
