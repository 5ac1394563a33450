/**
 * The journal thread: the first consumer of the outbound ring. It cuts the stream
 * into one record per command (RecordBuilder; a BATCH_END marker completes the
 * batch), encoding each straight into a batch arena (EncodedRecords: no record objects),
 * appends everything available in ONE transaction (group commit: one fsync covers every
 * record that arrived while the previous write ran; a batch holds at most
 * ENCODED_RECORDS_MAX records / ENCODED_RECORDS_BYTES, beyond which it is written in
 * several), then publishes the durable sequence that lets gateways release acks and fills.
 *
 * A failed write is fatal: the exchange must never trade without a journal.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpmcConsumer } from '../core/ring';
import { ControlBlock, WorkerState } from '../core/runtime/control-block';
import { BATCH_END_CODE } from '../core/runtime/ring-sink';
import { RecordBuilder } from './record-builder';
import { SqliteJournal } from './sqlite-journal';
import { EncodedRecords } from './encoded-records';
import { WORDS_PER_EVENT } from './journal-record';
import type { Durability } from './journal';

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
  const journal = SqliteJournal.open({ path: data.journalPath, durability: data.durability, verifyOnOpen: 'tail', packRows: true });
  const publish = (sequence: number) => {
    control.localDurableSequence = sequence;
    if (data.publishDurable) control.publishDurable(sequence);
  };
  let durable = journal.durableSequence();
  let records = 0;
  const batch = new EncodedRecords();
  /** Ring sequence up to which every record was copied out (the builder and the batch hold copies). */
  let copiedThrough = consumer.nextSequence;
  const appendBatch = () => {
    if (batch.count === 0) return;
    journal.appendEncodedSync(batch);
    durable = batch.lastSequences[batch.count - 1]!;
    records += batch.count;
    control.journalRecords = records;
    publish(durable);
    batch.reset();
  };
  const builder = new RecordBuilder({
    sink: {
      record(firstSequence, timestampMicros, command, events, eventWords) {
        if (!batch.hasRoomFor(eventWords / WORDS_PER_EVENT)) {
          // Full: write it out (never grow it), first freeing the ring slots already copied, so the
          // matcher is not held up by the write of a large backlog.
          if (copiedThrough > consumer.nextSequence) consumer.release(copiedThrough);
          appendBatch();
        }
        batch.add(firstSequence, timestampMicros, command, 0, events, 0, eventWords);
      },
    },
  });
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
        copiedThrough = next + i; // everything before this entry is in the builder or the batch
        const offset = consumer.offsetOf(next + i);
        if (words[offset] === BATCH_END_CODE) builder.finishCurrent();
        else builder.consume(words, 1, offset);
      }
      consumer.release(end);
      appendBatch();
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

