/** Small helpers the benchmarks share: a forced GC between timed runs, and the median. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** A GC between runs keeps one run's garbage out of the next one's timing (a no-op if it cannot be exposed). */
export const gc: () => void = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
})();

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
