/**
 * Pipeline bench tap thread: an extra outbound-ring consumer. For each command echo
 * it notes the command's last event sequence; once the journal's durable sequence
 * passes it, command-to-durable latency = now − the command's intended send time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { SpmcConsumer } from '../../core/ring';
import { ControlBlock } from '../../core/runtime/control-block';
import { COMMAND_ECHO_FLAG } from '../../core/event-buffer';
import { BATCH_END_CODE } from '../../core/runtime/ring-sink';

const { outbound, control: controlBuffer, consumerIndex, intended, count, warmup } = workerData as {
  outbound: SharedArrayBuffer; control: SharedArrayBuffer; consumerIndex: number; intended: SharedArrayBuffer; count: number; warmup: number;
};
const consumer = SpmcConsumer.attach(outbound, consumerIndex);
const control = ControlBlock.attach(controlBuffer);
const sendTimes = new Float64Array(intended);
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const pendingIndex = new Float64Array(count);
const pendingSequence = new Float64Array(count);
let head = 0;
let tail = 0;
let current = -1;
let lastSequence = 0;
let measured = 0;
const words = consumer.words;
const now = () => performance.timeOrigin + performance.now();

while (measured < count) {
  const next = consumer.nextSequence;
  const end = consumer.waitFor(next, 5);
  const n = end - next;
  for (let i = 0; i < n; i++) {
    const offset = consumer.offsetOf(next + i);
    const type = words[offset];
    if (type === BATCH_END_CODE) {
      // Every command before the marker is complete (the matcher flushed its batch).
      if (current >= 0) { pendingIndex[tail] = current; pendingSequence[tail] = lastSequence; tail++; current = -1; }
      continue;
    }
    if (type >= COMMAND_ECHO_FLAG) {
      if (current >= 0) { pendingIndex[tail] = current; pendingSequence[tail] = lastSequence; tail++; }
      current = words[offset + 2];
      continue;
    }
    lastSequence = words[offset + 1];
  }
  if (n > 0) consumer.release(end);
  const durable = control.durableSequence;
  const t = now();
  while (head < tail && pendingSequence[head] <= durable) {
    const index = pendingIndex[head++];
    if (index >= warmup) histogram.recordValue(Math.max(1, Math.round((t - sendTimes[index]) * 1000)));
    measured++;
  }
}
const p = (q: number) => histogram.getValueAtPercentile(q);
parentPort!.postMessage({ p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: histogram.maxValue, samples: histogram.totalCount });
