/**
 * Main-thread work of all pending async calls (the JS backend's blocks, the copies of a snapshot)
 * waits in one queue and runs in slices of at most SLICE_MS, with a turn of the event loop
 * (setImmediate) between slices: however many calls are pending, a timer waits for one slice at
 * most, and the calls advance in turn.
 */
const SLICE_MS = 4;
const queue: Array<() => void> = [];
let pumping = false;

function pump(): void {
  const deadline = performance.now() + SLICE_MS;
  do queue.shift()!();
  while (queue.length > 0 && performance.now() < deadline);
  if (queue.length > 0) setImmediate(pump);
  else pumping = false;
}

/** Runs `work` in a later slice; its result or error settles the promise. */
export function inSlice<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error);
      }
    });
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
}
