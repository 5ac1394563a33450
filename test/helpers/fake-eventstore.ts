/**
 * In-memory stand-in for an EventStoreDB server, as the journal backend uses it: exact
 * expected revision, idempotent event ids, max append size, injectable failures and delay.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ESDB_ERROR_TYPES, EventStoreClientLike, EventStoreEvent, unpackBatch } from '../../journal/eventstore-journal';
import { flipPayloadByte } from '../journal-contract';

type Expected = bigint | 'no_stream';

/** In-memory stand-in for the server: exact expected revision, idempotent ids, max append size. */
export class FakeEventStore implements EventStoreClientLike {
  readonly streams = new Map<string, EventStoreEvent[]>();
  readonly attempts: string[] = [];
  failures: unknown[] = [];
  delayMs = 0;
  inFlight = 0;
  maxInFlightSeen = 0;
  maxAppendBytes = 1 << 20;

  async appendToStream(stream: string, events: EventStoreEvent[], options: { expectedRevision: Expected }): Promise<unknown> {
    this.inFlight++;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
    try {
      this.attempts.push(events[0]!.id);
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
      if (events.some((event) => event.data.length > this.maxAppendBytes)) throw { type: ESDB_ERROR_TYPES.maxAppendSizeExceeded };
      const list = this.streams.get(stream) ?? [];
      const current: Expected = list.length === 0 ? 'no_stream' : BigInt(list.length - 1);
      const slot = options.expectedRevision === 'no_stream' ? 0 : Number(options.expectedRevision) + 1;
      if (list[slot]?.id === events[0]!.id) return {}; // idempotent: already written
      if (current !== options.expectedRevision) {
        throw Object.assign(new Error('wrong expected version'), {
          type: ESDB_ERROR_TYPES.wrongExpectedVersion, expectedVersion: options.expectedRevision, actualVersion: current,
        });
      }
      list.push(...events);
      this.streams.set(stream, list);
      return {};
    } finally {
      this.inFlight--;
    }
  }

  async *readStream(
    stream: string,
    options: { fromRevision: bigint | 'start' | 'end'; direction: 'forwards' | 'backwards'; maxCount: number },
  ): AsyncGenerator<{ event?: { revision: bigint; data: unknown } }> {
    const list = this.streams.get(stream);
    if (list === undefined) throw { type: ESDB_ERROR_TYPES.streamNotFound };
    const step = options.direction === 'forwards' ? 1 : -1;
    let index = options.fromRevision === 'end' ? list.length - 1 : options.fromRevision === 'start' ? 0 : Number(options.fromRevision);
    for (let count = 0; count < options.maxCount && index >= 0 && index < list.length; count++, index += step) {
      yield { event: { revision: BigInt(index), data: list[index]!.data } };
    }
  }

  async dispose(): Promise<void> {}

  /** Flips a payload byte of the record starting at firstSequence inside its stored batch. */
  tamper(stream: string, firstSequence: number): void {
    const packr = new Packr({ useRecords: false });
    for (const event of this.streams.get(stream)!) {
      const [version, first, last, bodies] = new Unpackr({ useRecords: false }).unpack(event.data) as [number, number, number, Uint8Array[]];
      const records = unpackBatch(event.data, 0n);
      const index = records.findIndex((record) => record.firstSequence === firstSequence);
      if (index < 0) continue;
      bodies[index] = flipPayloadByte(bodies[index]!);
      event.data = packr.pack([version, first, last, bodies]);
      return;
    }
    throw new Error(`no record at ${firstSequence}`);
  }
}

