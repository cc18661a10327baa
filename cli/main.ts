#!/usr/bin/env node
/**
 * `focal-loss`: the package's command-line tool (docs/CLI.md).
 *
 *   focal-loss table                    the seed article's table, exact
 *   focal-loss plot [--gamma] [--out]   Figure 1 of the paper as an SVG
 *   focal-loss eval --logits --labels   the focal loss of a batch stored as .npy files [--state]
 *   focal-loss merge a.json b.json …    the report of one eval over the data of eval --state files
 *
 * Exit codes: 0 success, 2 bad usage or bad input (one line on stderr: "focal-loss: <what>"), 1 a bug.
 * The CLI uses the library only through its public entry, imported by the package's own name
 * ('focal-loss', resolved through package.json "exports"), so nothing in lib/ can reach back here.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { parseAlpha, parseGamma, parseGammaList, parseInt32, parsePositiveInt } from './args.js';
import { CliError, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, fileErrorMessage } from './errors.js';
import { DEFAULT_ALPHA, DEFAULT_CHUNK_BYTES, DEFAULT_GAMMA, evaluate, type Mode } from './eval.js';
import { formatGamma } from './format.js';
import { merge } from './merge.js';
import { renderReport } from './report.js';
import { DEFAULT_PLOT_GAMMAS, focalCurves, renderPlot } from './plot.js';
import { renderSeedTable, seedTable } from './table.js';

function packageVersion(): string {
  return (createRequire(import.meta.url)('focal-loss/package.json') as { version: string }).version;
}

function write(text: string): void {
  process.stdout.write(text);
}

/** --state: a meter's state as a JSON file (what `merge` reads). */
function writeStateFile(file: string, state: unknown): void {
  try {
    writeFileSync(file, JSON.stringify(state) + '\n');
  } catch (error) {
    throw new CliError(fileErrorMessage(file, error));
  }
}

export function buildProgram(): Command {
  const program = new Command('focal-loss')
    .description('Focal loss (Lin et al., ICCV 2017): the seed table, loss curves, and evaluation of .npy batches.')
    .version(packageVersion(), '-V, --version')
    // Throw instead of exiting, so that main() picks the exit code: usage errors are 2, like bad input.
    .exitOverride()
    .configureOutput({
      // One line, like every other error: "focal-loss: unknown option '--gama' (Did you mean --gamma?)".
      outputError: (text, out) =>
        out(
          `focal-loss: ${text
            .replace(/^error: /, '')
            .trimEnd()
            .replace(/\s*\n\s*/g, ' ')}\n`,
        ),
    })
    .showSuggestionAfterError(true);

  program
    .command('table')
    .description("print the seed article's table: softmax focal loss of logits [0, 0.1, …, 1.0] for 11 true classes")
    .option('--json', 'print the table as JSON (full precision)')
    .addOption(new Option('--digits <n>', 'decimals of the losses').default(4).argParser(parsePositiveInt))
    .action((opts: { json?: boolean; digits: number }) => {
      const table = seedTable();
      if (opts.json) write(JSON.stringify(table, null, 2) + '\n');
      else write(renderSeedTable(table, Math.min(opts.digits, 17)));
    });

  program
    .command('plot')
    .description('draw the focal loss against the probability of the true class, one curve per gamma, as SVG')
    .addOption(
      new Option('--gamma <list>', 'comma-separated gammas')
        .default([...DEFAULT_PLOT_GAMMAS], DEFAULT_PLOT_GAMMAS.join(','))
        .argParser(parseGammaList),
    )
    .option('--out <file>', "the SVG file to write; '-' writes it to stdout", 'curves.svg')
    .action((opts: { gamma: number[]; out: string }) => {
      const svg = renderPlot(focalCurves(opts.gamma));
      if (opts.out === '-') {
        write(svg);
        return;
      }
      try {
        writeFileSync(opts.out, svg);
      } catch (error) {
        throw new CliError(fileErrorMessage(opts.out, error));
      }
      write(`${opts.out}: ${opts.gamma.length} curves (γ = ${opts.gamma.map(formatGamma).join(', ')})\n`);
    });

  program
    .command('eval')
    .description('evaluate the focal loss of logits and labels stored as .npy files, reading them in chunks')
    .requiredOption('--logits <file>', 'logits, float32 or float64: [N] or [N, C] (sigmoid), [N, C, ...] (softmax)')
    .requiredOption('--labels <file>', 'integer labels [N] / [N, ...] (softmax), or targets shaped like the logits')
    .addOption(
      new Option('--sigmoid', 'binary / multi-label loss (default when the shapes are equal)').conflicts('softmax'),
    )
    .addOption(new Option('--softmax', 'multi-class loss (default when the labels are the logits without axis 1)'))
    .addOption(new Option('--gamma <number>', 'focusing parameter').default(DEFAULT_GAMMA).argParser(parseGamma))
    .addOption(
      new Option(
        '--alpha <value>',
        `'none', a number in [0, 1], or per-class numbers a0,a1,… (softmax) ` +
          `(default: ${DEFAULT_ALPHA.sigmoid} for sigmoid, none for softmax)`,
      ).argParser(parseAlpha),
    )
    .addOption(
      new Option(
        '--ignore-index <int>',
        'label value that counts nowhere (default: -100 for softmax, none for sigmoid)',
      ).argParser(parseInt32),
    )
    .option('--shard <name>', "the name of this data in the meter's state (default: the logits file's base name)")
    .option('--state <file>', "also write the meter's state (JSON) to this file, for focal-loss merge")
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress bar (it is only ever drawn when stderr is a terminal)')
    .addOption(
      new Option(
        '--chunk-rows <n>',
        `rows read per chunk (default: about ${DEFAULT_CHUNK_BYTES >> 20} MiB of data)`,
      ).argParser(parsePositiveInt),
    )
    .action(
      (opts: {
        logits: string;
        labels: string;
        sigmoid?: boolean;
        softmax?: boolean;
        gamma: number;
        alpha?: number | number[] | 'none';
        ignoreIndex?: number;
        shard?: string;
        state?: string;
        json?: boolean;
        progress: boolean;
        chunkRows?: number;
      }) => {
        const mode: Mode | undefined = opts.sigmoid ? 'sigmoid' : opts.softmax ? 'softmax' : undefined;
        const { report, state } = evaluate({
          logits: opts.logits,
          labels: opts.labels,
          mode,
          gamma: opts.gamma,
          alpha: opts.alpha === 'none' ? null : opts.alpha,
          ignoreIndex: opts.ignoreIndex,
          shard: opts.shard,
          chunkRows: opts.chunkRows,
          progress: opts.progress,
        });
        if (opts.state !== undefined) writeStateFile(opts.state, state);
        write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report));
      },
    );

  program
    .command('merge')
    .description("merge meter states written by 'eval --state' and print the report of one eval over all their data")
    .argument('<states...>', 'state files (JSON); a shard in two of them is an error')
    .option('--state <file>', 'also write the merged state (JSON) to this file')
    .option('--json', 'print the result as JSON on stdout')
    .action((files: string[], opts: { state?: string; json?: boolean }) => {
      const { report, state } = merge(files);
      if (opts.state !== undefined) writeStateFile(opts.state, state);
      write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report));
    });

  return program;
}

/** Runs the program on `argv` (as process.argv) and returns the exit code. */
export function main(argv: readonly string[]): number {
  try {
    buildProgram().parse(argv as string[]);
    return EXIT_OK;
  } catch (error) {
    // Commander has already printed its message (or the help); help on request is a success.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (error instanceof CliError) {
      process.stderr.write(`focal-loss: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`focal-loss: unexpected error (please report it): ${message.split('\n')[0]}\n`);
    if (process.env.FOCAL_LOSS_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return EXIT_INTERNAL;
  }
}

// `focal-loss table | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT_OK);
  throw error;
});
// exitCode rather than exit(): pending writes to a pipe are flushed before the process ends.
process.exitCode = main(process.argv);
