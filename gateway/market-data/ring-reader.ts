/**
 * Driving the publisher from the outbound ring (a market-data worker thread):
 *
 *   const consumer = SpmcConsumer.attach(outboundBuffer, consumerIndex);
 *   for (;;) {
 *     if (drainOutboundRing(consumer, publisher) === 0) await consumer.waitForAsync(consumer.nextSequence, 50);
 *     // handle subscription requests here, then send each subscriber's drain()
 *   }
 *
 * The matcher ends every inbound batch with BATCH_END, so after a drain that read
 * up to the cursor the publisher is at a command boundary and every message of the
 * batch has been delivered to the subscribers' buffers.
 */
import type { SpmcConsumer } from '../../core/ring';

export interface RecordConsumer {
  onRecord(words: Float64Array, offset: number): void;
}

/**
 * Feeds every readable record (at most maxRecords) to `target`, then releases them
 * to the producer; returns how many were read.
 */
export function drainOutboundRing(consumer: SpmcConsumer, target: RecordConsumer, maxRecords: number = consumer.capacity): number {
  const start = consumer.nextSequence;
  const end = Math.min(consumer.available(), start + maxRecords);
  const words = consumer.words;
  for (let s = start; s < end; s++) target.onRecord(words, consumer.offsetOf(s));
  if (end > start) consumer.release(end);
  return end - start;
}
