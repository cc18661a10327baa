// Measures how well the event loop keeps turning while some work runs.

/** Fires a timer every `period` ms while `work` runs; returns the ticks and the longest gap. */
export async function tickWhile<T>(
  period: number,
  work: () => Promise<T>,
): Promise<{ result: T; ticks: number; maxGap: number }> {
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, period);
  try {
    const result = await work();
    maxGap = Math.max(maxGap, performance.now() - last);
    return { result, ticks, maxGap };
  } finally {
    clearInterval(timer);
  }
}
