/**
 * Wait strategies: how a ring thread waits for a shared int32 cell to change.
 *
 * Every wait in the rings is "wait while cells[index] still holds the value I last
 * saw" (a marker, the cursor, a consumer sequence). The waker changes the cell with
 * Atomics.store and then calls Atomics.notify only when the waiter counter at
 * `waitersIndex` is non-zero, so the uncontended publish path pays one load, not a
 * notify. Lost wake-ups are impossible: the waiter increments the counter BEFORE its
 * final check of the cell, the waker stores the cell BEFORE reading the counter, and
 * Atomics are sequentially consistent, so at least one of them sees the other. As a
 * second line of defence every block is cut into slices of `blockSliceMs`.
 *
 * Machines here have 2 cores and more threads than cores: a spinning thread steals
 * the core the thread it waits for needs. Hence the default is a short spin (covers
 * the common "data arrives within a microsecond" case) followed by Atomics.wait.
 * BusySpinWait is for machines with a spare core per spinning thread only.
 */

import { RingError } from './sequence';

export interface WaitStrategy {
  /**
   * Waits while Atomics.load(cells, index) === staleValue, for at most timeoutMs
   * (Infinity allowed). Returns true if the cell changed, false on timeout.
   */
  waitWhileEqual(cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number): boolean;
}

/** For event-loop threads (gateways): the same contract, without blocking the loop. */
export interface AsyncWaitStrategy {
  waitWhileEqual(cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number): Promise<boolean>;
}

/** Longest single Atomics.wait; bounds the cost of any wake-up bug to one slice. */
export const BLOCK_SLICE_MS_DEFAULT = 50;
export const BLOCK_SLICE_MS_MAX = 1000;
/** Default spin before blocking: ~0.1-0.5 us of polling, cheap even on 2 cores. */
export const SPIN_ITERATIONS_DEFAULT = 128;
export const SPIN_ITERATIONS_MAX = 1_000_000;
/** BusySpinWait reads the clock once per this many polls (clock reads cost ~25 ns). */
const SPIN_CLOCK_STRIDE = 256;

export interface BlockingWaitOptions {
  /** Longest single Atomics.wait in ms (1..BLOCK_SLICE_MS_MAX). */
  blockSliceMs?: number;
}

export interface SpinThenBlockWaitOptions extends BlockingWaitOptions {
  /** Polls of the cell before blocking (0..SPIN_ITERATIONS_MAX). */
  spinIterations?: number;
}

function validateSlice(blockSliceMs: number): number {
  if (!Number.isFinite(blockSliceMs) || blockSliceMs < 1 || blockSliceMs > BLOCK_SLICE_MS_MAX) {
    throw new RingError('ERR_RING_ARGUMENT', `blockSliceMs must be a number in 1..${BLOCK_SLICE_MS_MAX}, got ${blockSliceMs}`);
  }
  return blockSliceMs;
}

function validateSpin(spinIterations: number): number {
  if (!Number.isInteger(spinIterations) || spinIterations < 0 || spinIterations > SPIN_ITERATIONS_MAX) {
    throw new RingError('ERR_RING_ARGUMENT', `spinIterations must be an integer in 0..${SPIN_ITERATIONS_MAX}, got ${spinIterations}`);
  }
  return spinIterations;
}

/** Announce, re-check, Atomics.wait in slices until the cell changes or the deadline. */
function blockWhileEqual(
  cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number, sliceMs: number,
): boolean {
  const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
  Atomics.add(cells, waitersIndex, 1);
  let changed = false;
  for (;;) {
    if (Atomics.load(cells, index) !== staleValue) {
      changed = true;
      break;
    }
    const remainingMs = deadlineMs - performance.now();  // clock-ok: a wait deadline, never matcher state
    if (remainingMs <= 0) break;
    Atomics.wait(cells, index, staleValue, remainingMs < sliceMs ? remainingMs : sliceMs);
  }
  Atomics.sub(cells, waitersIndex, 1);
  return changed;
}

/** Plain blocking: check once, then Atomics.wait. Best when threads outnumber cores. */
export class BlockingWait implements WaitStrategy {
  readonly blockSliceMs: number;
  constructor(options: BlockingWaitOptions = {}) {
    this.blockSliceMs = validateSlice(options.blockSliceMs ?? BLOCK_SLICE_MS_DEFAULT);
  }
  waitWhileEqual(cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number): boolean {
    if (Atomics.load(cells, index) !== staleValue) return true;
    if (timeoutMs <= 0) return false;
    return blockWhileEqual(cells, index, staleValue, waitersIndex, timeoutMs, this.blockSliceMs);
  }
}

/** Spin `spinIterations` polls (no syscall, no wake-up latency), then block. The default. */
export class SpinThenBlockWait implements WaitStrategy {
  readonly spinIterations: number;
  readonly blockSliceMs: number;
  constructor(options: SpinThenBlockWaitOptions = {}) {
    this.spinIterations = validateSpin(options.spinIterations ?? SPIN_ITERATIONS_DEFAULT);
    this.blockSliceMs = validateSlice(options.blockSliceMs ?? BLOCK_SLICE_MS_DEFAULT);
  }
  waitWhileEqual(cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number): boolean {
    for (let spin = this.spinIterations; spin >= 0; spin--) {
      if (Atomics.load(cells, index) !== staleValue) return true;
    }
    if (timeoutMs <= 0) return false;
    return blockWhileEqual(cells, index, staleValue, waitersIndex, timeoutMs, this.blockSliceMs);
  }
}

/** Never sleeps: lowest latency, burns a whole core. Only with a spare core per spinner. */
export class BusySpinWait implements WaitStrategy {
  waitWhileEqual(cells: Int32Array, index: number, staleValue: number, _waitersIndex: number, timeoutMs: number): boolean {
    if (Atomics.load(cells, index) !== staleValue) return true;
    if (timeoutMs <= 0) return false;
    const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
    for (let polls = 1; ; polls++) {
      if (Atomics.load(cells, index) !== staleValue) return true;
      if (polls % SPIN_CLOCK_STRIDE === 0 && performance.now() >= deadlineMs) return false;  // clock-ok: a wait deadline, never matcher state
    }
  }
}

/** Shape of Atomics.waitAsync (ES2024; Node 16+ has it, the ES2022 lib types do not). */
type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (Atomics as unknown as {
  waitAsync(cells: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult;
}).waitAsync;

/**
 * Node 20's pending Atomics.waitAsync holds no reference on the event loop (nodejs/node
 * issue 61941): alone, it lets the thread exit, and its timeout may never fire. A
 * ref'd timer of the same length keeps the loop alive and bounds the wait.
 */
function raceTimer(waiting: Promise<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;  // clock-ok: a wait deadline, never matcher state
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, Math.ceil(timeoutMs)); });  // clock-ok: a wait deadline, never matcher state
  return Promise.race([waiting, timeout]).finally(() => clearTimeout(timer));
}

/** Atomics.waitAsync in slices: the event loop keeps running while the cell is unchanged. */
export class AsyncBlockingWait implements AsyncWaitStrategy {
  readonly blockSliceMs: number;
  constructor(options: BlockingWaitOptions = {}) {
    this.blockSliceMs = validateSlice(options.blockSliceMs ?? BLOCK_SLICE_MS_DEFAULT);
  }
  async waitWhileEqual(cells: Int32Array, index: number, staleValue: number, waitersIndex: number, timeoutMs: number): Promise<boolean> {
    if (Atomics.load(cells, index) !== staleValue) return true;
    if (timeoutMs <= 0) return false;
    const deadlineMs = performance.now() + timeoutMs;  // clock-ok: a wait deadline, never matcher state
    Atomics.add(cells, waitersIndex, 1);
    try {
      for (;;) {
        if (Atomics.load(cells, index) !== staleValue) return true;
        const remainingMs = deadlineMs - performance.now();  // clock-ok: a wait deadline, never matcher state
        if (remainingMs <= 0) return false;
        const sliceMs = remainingMs < this.blockSliceMs ? remainingMs : this.blockSliceMs;
        const result = atomicsWaitAsync(cells, index, staleValue, sliceMs);
        if (result.async) await raceTimer(result.value, sliceMs);
      }
    } finally {
      Atomics.sub(cells, waitersIndex, 1);
    }
  }
}

/** The default for ring threads: short spin, then block (right for 2 cores, many threads). */
export function defaultWaitStrategy(): WaitStrategy {
  return new SpinThenBlockWait();
}
