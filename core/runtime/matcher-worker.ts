/**
 * The matcher thread: recovers the engine from the journal, then loops forever
 * reading every available command from the inbound ring in one batch, processing
 * it, and publishing the events (with each command echoed ahead of them, and a
 * BATCH_END marker after the batch) into the outbound ring.
 *
 * It blocks on Atomics.wait when idle (worker threads may block), checks the
 * control block between batches (stop, snapshot requests), and treats any exception
 * from the engine as fatal: the supervisor stops the exchange rather than trade on
 * a state the journal may not describe.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Matcher } from '../matcher';
import { EngineLimits } from '../limits';
import { MpscRing, SpmcRing } from '../ring';
import { ControlBlock, WorkerState } from './control-block';
import { RingSink } from './ring-sink';
import { cutImage, stateHash } from '../state-image';
import { recoverEngine } from './recover-engine';
import { ImageArena } from './image-arena';

export interface MatcherWorkerData {
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  control: SharedArrayBuffer;
  journalPath: string;
  risk: boolean;
  limits: Partial<EngineLimits>;
  /** Most commands taken from the inbound ring in one batch. */
  maxBatch: number;
  /** How long one idle wait lasts before re-checking the control block. */
  idleWaitMs: number;
}

async function main(): Promise<void> {
  const data = workerData as MatcherWorkerData;
  const control = ControlBlock.attach(data.control);
  const inbound = MpscRing.attach(data.inbound);
  const outbound = SpmcRing.attach(data.outbound);
  const recovered = await recoverEngine({
    journalPath: data.journalPath,
    risk: data.risk,
    limits: data.limits,
    onProgress: (message) => parentPort!.postMessage({ type: 'progress', message }),
  });
  const matcher: Matcher = recovered.matcher;
  const sink = new RingSink(outbound, () => {
    if (control.stopRequested && control.journalState >= WorkerState.Stopped) throw new Error('outbound ring full and the journal is gone');
  });
  matcher.out.sink = sink;
  matcher.echoCommands = true;
  control.matchedSequence = matcher.out.sequence;
  control.matcherState = WorkerState.Running;
  parentPort!.postMessage({ type: 'ready', sequence: matcher.out.sequence, stateHash: stateHash(matcher), report: recovered.report });

  const arena = new ImageArena(control);
  let commands = 0;
  const handler = (words: Float64Array, offset: number) => {
    matcher.process(words, offset);
    commands++;
  };
  for (;;) {
    const taken = inbound.poll(handler, data.maxBatch);
    if (taken > 0) {
      matcher.flush();
      sink.endBatch();
      control.matchedSequence = matcher.out.sequence;
      control.commandsProcessed = commands;
    }
    if (control.snapshotRequested) {
      control.clearSnapshotRequest();
      const image = cutImage(matcher, (size) => arena.take(size));
      // The arena is shared, not transferred; a fresh fallback buffer is transferred (no copy).
      const transfer = image.bytes.buffer instanceof ArrayBuffer ? [image.bytes.buffer] : [];
      parentPort!.postMessage({ type: 'image', header: image.header, bytes: image.bytes }, transfer);
    }
    if (taken > 0) continue;
    if (control.stopRequested) break;
    inbound.waitForRecords(data.idleWaitMs);
  }
  control.matcherState = WorkerState.Stopped;
  parentPort!.postMessage({ type: 'stopped', sequence: matcher.out.sequence, commands, stateHash: stateHash(matcher) });
}

main().catch((error: unknown) => {
  const control = ControlBlock.attach((workerData as MatcherWorkerData).control);
  control.matcherState = WorkerState.Failed;
  parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exitCode = 1;
});
