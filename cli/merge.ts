/**
 * `focal-loss merge`: meter states written by `eval --state` (or by any sigmoid / softmax meter's
 * `state()`), merged into one meter whose report is the one `eval` would print over all their data.
 * A state file is untrusted input: it is parsed, then checked by the library's state reader, and
 * any fault is one line naming the file and the property (`a.json: ... state.options.gamma ...`).
 */
import { readFileSync } from 'node:fs';
import { sigmoidFocalLossMeter, softmaxFocalLossMeter } from 'focal-loss';
import type { FocalLossMeter, FocalLossMeterState } from 'focal-loss';
import { CliError, fileErrorMessage } from './errors.js';
import { mergeReport, type MergeReport } from './report.js';

export interface Merged {
  report: MergeReport;
  state: FocalLossMeterState;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(fileErrorMessage(file, error));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${file}: not a JSON file (${(error as Error).message.split('\n')[0]})`);
  }
}

/**
 * The library's TypeError / RangeError about the state, told as a fault of the file, naming the
 * property (the error's `argument`, e.g. state.options.gamma) when its message does not.
 */
function inFile(file: string, error: unknown): unknown {
  if (!(error instanceof RangeError || error instanceof TypeError)) return error;
  const message = error.message.split('\n')[0]!;
  const argument = (error as { argument?: unknown }).argument;
  const named = typeof argument === 'string' && !message.includes(argument) ? `${argument}: ${message}` : message;
  return new CliError(`${file}: ${named}`);
}

export function merge(files: readonly string[]): Merged {
  let meter: FocalLossMeter | undefined;
  for (const file of files) {
    const state = readJson(file);
    try {
      if (meter === undefined) {
        // JSON.parse gives plain data (no getters): its loss picks the reader, which checks it all.
        const loss = (state as { loss?: unknown } | null)?.loss;
        meter =
          loss === 'sigmoid'
            ? sigmoidFocalLossMeter.fromState(state as FocalLossMeterState)
            : softmaxFocalLossMeter.fromState(state as FocalLossMeterState);
      } else {
        meter.merge(state as FocalLossMeterState);
      }
    } catch (error) {
      throw inFile(file, error);
    }
  }
  if (meter === undefined) throw new CliError('merge: no state files given');
  const state = meter.state();
  return { report: mergeReport(state, meter.result(), [...files]), state };
}
