/** A gateway stand-in for the pipeline test: submits a seeded flow into the inbound ring from its own thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { MpscRing } from '../core/ring';
import { encodeCommand } from '../core/record-objects';
import { randomFlow } from './helpers/random-flow';

const { inbound, producer, count } = workerData as { inbound: SharedArrayBuffer; producer: number; count: number };
const ring = MpscRing.attach(inbound);
const flow = randomFlow(1000 + producer, count).filter((c) => c.name !== 'AddInstrument');
const words = new Float64Array(16);
let index = 0;
for (const c of flow) {
  const fields = { ...c.fields } as Record<string, number>;
  if (fields.account !== undefined) fields.account += producer * 8;
  if (fields.clientOrderId !== undefined) fields.clientOrderId += producer * 1_000_000;
  // origin = producer x 2^32 + index: lets the test check per-producer order in the journal
  encodeCommand(c.name, fields as never, c.timestamp, producer * 2 ** 32 + index++, words);
  let slot = ring.tryClaim(1000);
  while (slot < 0) slot = ring.tryClaim(1000);
  ring.words.set(words, slot);
  ring.publish();
}
parentPort!.postMessage({ submitted: index });
