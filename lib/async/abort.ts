/**
 * The `signal` option of the async calls: reading it, and what an aborted call rejects with.
 *
 * The caller's signal is read through the AbortSignal and EventTarget intrinsics captured when this
 * module loads (as arrays.ts reads typed arrays): a subclass getter, an own `aborted` property or a
 * patched prototype runs no code and cannot lie, and a Proxy (anywhere on the prototype chain) is
 * refused before any of its traps could run. So validating a signal runs none of the caller's code;
 * the only caller code that runs later is what the signal itself runs when it is aborted.
 */
import { types } from 'node:util';
import type { StopRequest } from '../backends/contract.js';
import { typeError } from '../facade/validate.js';

function intrinsic<T>(owner: object, key: string, kind: 'get' | 'value'): T {
  return Object.getOwnPropertyDescriptor(owner, key)![kind] as T;
}

const abortedOf = intrinsic<(this: AbortSignal) => boolean>(AbortSignal.prototype, 'aborted', 'get');
const reasonOf = intrinsic<(this: AbortSignal) => unknown>(AbortSignal.prototype, 'reason', 'get');
type ListenerMethod = (this: EventTarget, type: string, listener: () => void) => void;
const addListener = intrinsic<ListenerMethod>(EventTarget.prototype, 'addEventListener', 'value');
const removeListener = intrinsic<ListenerMethod>(EventTarget.prototype, 'removeEventListener', 'value');

/** Deeper prototype chains are not walked (a real signal has three prototypes). */
const MAX_CHAIN = 64;

/**
 * What an aborted call rejects with: the error Node's own promise APIs use (fs.promises,
 * timers/promises): name 'AbortError', code 'ABORT_ERR', message 'The operation was aborted', and
 * the signal's reason as its `cause`.
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(reason: unknown) {
    super('The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

/**
 * Is `value` an AbortSignal, found without running any of the caller's code: no Proxy on its
 * prototype chain (Object.getPrototypeOf on anything else runs no trap), then the intrinsic
 * `aborted` getter, which throws for an object that is not a signal.
 */
function isAbortSignal(value: object): value is AbortSignal {
  let o: object | null = value;
  for (let depth = 0; o !== null; depth++) {
    if (types.isProxy(o) || depth > MAX_CHAIN) return false;
    o = Object.getPrototypeOf(o) as object | null;
  }
  try {
    abortedOf.call(value as AbortSignal);
    return true;
  } catch {
    return false;
  }
}

/** The `signal` option (read once with the other options): an AbortSignal, or null when absent. */
export function readSignal(value: unknown): AbortSignal | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || !isAbortSignal(value)) {
    throw typeError('an AbortSignal', 'options.signal', value);
  }
  return value;
}

/**
 * One async call's view of its signal, from its start until it settles: `dispose()` removes the
 * listener it added, so a long-lived signal shared by many calls keeps none of them.
 */
export class CallAbort implements StopRequest {
  private abortedNow = false;
  private reason: unknown = undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly onAbort = () => this.abort();

  constructor(private readonly signal: AbortSignal | null) {
    if (!signal) return;
    if (abortedOf.call(signal)) this.abort();
    else addListener.call(signal, 'abort', this.onAbort);
  }

  get requested(): boolean {
    return this.abortedNow;
  }

  onRequest(listener: () => void): void {
    if (this.abortedNow) listener();
    else this.listeners.push(listener);
  }

  /** The AbortError this call rejects with (the reason as the signal had it when it was aborted). */
  error(): AbortError {
    return new AbortError(this.reason);
  }

  /** Throws the AbortError if the signal was aborted. */
  check(): void {
    if (this.abortedNow) throw this.error();
  }

  dispose(): void {
    if (this.signal) removeListener.call(this.signal, 'abort', this.onAbort);
    this.listeners.length = 0;
  }

  private abort(): void {
    if (this.abortedNow) return;
    this.abortedNow = true;
    this.reason = reasonOf.call(this.signal!);
    for (const listener of this.listeners.splice(0)) listener();
  }
}
