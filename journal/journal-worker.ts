/**
 * The journal thread: the first consumer of the outbound ring. It cuts the stream
 * into one record per command (RecordBuilder; a BATCH_END marker completes the
 * batch), appends everything available in ONE transaction (group commit: one fsync
 * covers every record that arrived while the previous write ran), then publishes
 * the durable sequence that lets gateways release acks and fills.
 *
 * A failed write is fatal: the exchange must never trade without a journal.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpmcConsumer } from '../core/ring';
import { ControlBlock, WorkerState } from '../core/runtime/control-block';
import { BATCH_END_CODE } from '../core/runtime/ring-sink';
import { RecordBuilder } from './record-builder';
import { SqliteJournal } from './sqlite-journal';
import type { Durability } from './journal';

/** Records per group commit (well under the sqlite journal's pending-record limit). */
export const MAX_RECORDS_PER_COMMIT = 8192;

export interface JournalWorkerData {
  outbound: SharedArrayBuffer;
  control: SharedArrayBuffer;
  consumerIndex: number;
  journalPath: string;
  durability: Durability;
  idleWaitMs: number;
  /** False when acknowledgements wait for EventStoreDB replication: the replicator publishes the durable sequence. */
  publishDurable: boolean;
}

async function main(): Promise<void> {
  const data = workerData as JournalWorkerData;
  const control = ControlBlock.attach(data.control);
  const consumer = SpmcConsumer.attach(data.outbound, data.consumerIndex);
  const journal = SqliteJournal.open({ path: data.journalPath, durability: data.durability, verifyOnOpen: 'tail' });
  const builder = new RecordBuilder({ reuse: true }); // each batch goes to the journal and is let go
  const publish = (sequence: number) => {
    control.localDurableSequence = sequence;
    if (data.publishDurable) control.publishDurable(sequence);
  };
  let durable = journal.durableSequence();
  let records = 0;
  publish(durable);
  control.journalState = WorkerState.Running;
  parentPort!.postMessage({ type: 'ready', durableSequence: durable });
  const words = consumer.words;
  for (;;) {
    const next = consumer.nextSequence;
    const end = consumer.waitFor(next, data.idleWaitMs);
    if (end > next) {
      // Index from 0, not the sequence: V8 boxes loop counters above 2^31 (an allocation per record).
      const count = end - next;
      for (let i = 0; i < count; i++) {
        const offset = consumer.offsetOf(next + i);
        if (words[offset] === BATCH_END_CODE) builder.finishCurrent();
        else builder.consume(words, 1, offset);
      }
      consumer.release(end);
      const batch = builder.take();
      // One transaction per chunk: bounded by the journal's own limits on a group.
      for (let first = 0; first < batch.length; first += MAX_RECORDS_PER_COMMIT) {
        const chunk = batch.slice(first, first + MAX_RECORDS_PER_COMMIT);
        journal.appendSync(chunk);
        durable = chunk[chunk.length - 1].lastSequence;
        records += chunk.length;
        control.journalRecords = records;
        publish(durable);
      }
      continue;
    }
    // Idle: stop once the matcher has stopped and everything it published is durable.
    if (control.stopRequested && control.matcherState >= WorkerState.Stopped && consumer.available() === consumer.nextSequence) break;
  }
  await journal.close();
  control.journalState = WorkerState.Stopped;
  parentPort!.postMessage({ type: 'stopped', durableSequence: durable, records });
}

main().catch((error: unknown) => {
  ControlBlock.attach((workerData as JournalWorkerData).control).journalState = WorkerState.Failed;
  parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exitCode = 1;
});

