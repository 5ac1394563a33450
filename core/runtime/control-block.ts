/**
 * Shared control cells between the supervisor and its worker threads: progress
 * counters (matched sequence, durable sequence, commands processed) and lifecycle
 * flags. 64-bit values live in a BigInt64Array (Atomics, no tearing); the durable
 * tick is an int32 that waiters block on with Atomics.wait / waitAsync.
 */
const I64_CELLS = 8;
const I32_CELLS = 8;

const I64 = { matchedSequence: 0, durableSequence: 1, commandsProcessed: 2, journalRecords: 3, snapshotSequence: 4, localDurableSequence: 5 } as const;
const I32 = { durableTick: 0, stopRequested: 1, matcherState: 2, journalState: 3, snapshotRequested: 4, imageArenaBusy: 5 } as const;

export const WorkerState = { Starting: 0, Running: 1, Draining: 2, Stopped: 3, Failed: 4 } as const;

export class ControlBlock {
  readonly buffer: SharedArrayBuffer;
  private readonly wide: BigInt64Array;
  private readonly narrow: Int32Array;

  static create(): ControlBlock {
    return new ControlBlock(new SharedArrayBuffer(I64_CELLS * 8 + I32_CELLS * 4));
  }

  static attach(buffer: SharedArrayBuffer): ControlBlock {
    return new ControlBlock(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.wide = new BigInt64Array(buffer, 0, I64_CELLS);
    this.narrow = new Int32Array(buffer, I64_CELLS * 8, I32_CELLS);
  }

  private get64(index: number): number {
    return Number(Atomics.load(this.wide, index));
  }
  private set64(index: number, value: number): void {
    Atomics.store(this.wide, index, BigInt(value));
  }

  get matchedSequence(): number { return this.get64(I64.matchedSequence); }
  set matchedSequence(value: number) { this.set64(I64.matchedSequence, value); }
  get commandsProcessed(): number { return this.get64(I64.commandsProcessed); }
  set commandsProcessed(value: number) { this.set64(I64.commandsProcessed, value); }
  get journalRecords(): number { return this.get64(I64.journalRecords); }
  set journalRecords(value: number) { this.set64(I64.journalRecords, value); }
  get snapshotSequence(): number { return this.get64(I64.snapshotSequence); }
  set snapshotSequence(value: number) { this.set64(I64.snapshotSequence, value); }

  /**
   * What acknowledgements wait for: the local journal's durable sequence, or, when
   * acknowledgements are gated on EventStoreDB replication, the stream's.
   */
  get durableSequence(): number { return this.get64(I64.durableSequence); }
  /** The local journal's durable sequence (equal to durableSequence unless acks wait for replication). */
  get localDurableSequence(): number { return this.get64(I64.localDurableSequence); }
  set localDurableSequence(sequence: number) { this.set64(I64.localDurableSequence, sequence); }
  /** Publishes a new durable sequence and wakes everyone waiting for durability. */
  publishDurable(sequence: number): void {
    this.set64(I64.durableSequence, sequence);
    Atomics.add(this.narrow, I32.durableTick, 1);
    Atomics.notify(this.narrow, I32.durableTick);
  }
  get durableTick(): number { return Atomics.load(this.narrow, I32.durableTick); }
  /** Resolves when the durable sequence may have moved past the tick seen (or on timeout). */
  async waitDurableAsync(seenTick: number, timeoutMs: number): Promise<void> {
    const result = Atomics.waitAsync(this.narrow, I32.durableTick, seenTick, timeoutMs);
    if (result.async) await result.value;
  }

  get stopRequested(): boolean { return Atomics.load(this.narrow, I32.stopRequested) === 1; }
  requestStop(): void {
    Atomics.store(this.narrow, I32.stopRequested, 1);
  }

  /** The supervisor asks for a state image; the matcher clears the flag when it cuts one. */
  get snapshotRequested(): boolean { return Atomics.load(this.narrow, I32.snapshotRequested) === 1; }
  requestSnapshot(): void { Atomics.store(this.narrow, I32.snapshotRequested, 1); }
  clearSnapshotRequest(): void { Atomics.store(this.narrow, I32.snapshotRequested, 0); }

  /**
   * The matcher's reusable image arena (core/runtime/image-arena.ts) holds an image the
   * supervisor still reads: the matcher sets it when it cuts into the arena, the supervisor
   * clears it once the snapshot writer is done with those bytes.
   */
  get imageArenaBusy(): boolean { return Atomics.load(this.narrow, I32.imageArenaBusy) === 1; }
  set imageArenaBusy(busy: boolean) { Atomics.store(this.narrow, I32.imageArenaBusy, busy ? 1 : 0); }

  get matcherState(): number { return Atomics.load(this.narrow, I32.matcherState); }
  set matcherState(state: number) { Atomics.store(this.narrow, I32.matcherState, state); }
  get journalState(): number { return Atomics.load(this.narrow, I32.journalState); }
  set journalState(state: number) { Atomics.store(this.narrow, I32.journalState, state); }
}
