/**
 * The matcher's event sink in the running exchange: copies each output batch into
 * the outbound ring and publishes it with one store. If the slowest consumer (the
 * journal, a gateway) lags by a whole ring, the matcher waits: backpressure goes
 * all the way back to the inbound ring and the gateways' SYSTEM_BUSY, never to a
 * dropped event.
 *
 * After each inbound batch the matcher marks the end of the batch with a BATCH_END
 * record: every command before it is complete (the journal cuts records there).
 */
import type { EventSink } from '../event-buffer';
import { EVENT_WORDS } from '../schema';
import type { SpmcRing } from '../ring';

export const BATCH_END_CODE = 2048;
/** How long one wait for ring space lasts before re-checking that the exchange is alive. */
const CLAIM_SLICE_MS = 100;

export class RingSink implements EventSink {
  constructor(
    private readonly ring: SpmcRing,
    /** Called between waits for space; throws to abandon (the exchange is stopping). */
    private readonly stillRunning: () => void = () => {},
  ) {
    if (ring.recordWords !== EVENT_WORDS) throw new Error(`outbound ring records have ${ring.recordWords} words, events ${EVENT_WORDS}`);
  }

  onEvents(words: Float64Array, count: number): void {
    this.claim(count);
    const ring = this.ring;
    const first = ring.claimedOffset(0);
    const ringWords = ring.words.length;
    const total = count * EVENT_WORDS;
    const contiguous = Math.min(total, ringWords - first);
    ring.words.set(words.subarray(0, contiguous), first);
    if (contiguous < total) ring.words.set(words.subarray(contiguous, total), 0);
    ring.publish();
  }

  endBatch(): void {
    this.claim(1);
    const offset = this.ring.claimedOffset(0);
    this.ring.words.fill(0, offset, offset + EVENT_WORDS);
    this.ring.words[offset] = BATCH_END_CODE;
    this.ring.publish();
  }

  private claim(count: number): void {
    while (!this.ring.tryClaim(count, CLAIM_SLICE_MS)) this.stillRunning();
  }
}
