/**
 * Wire codec benchmark (`npm run bench:codec`, tinybench).
 *
 *   encode/decode NewOrder (client -> server) and Trade (server -> client), one
 *   message per frame and 64 messages per frame, into/out of reused buffers;
 *   baseline: msgpackr packing/unpacking the same message as a plain object
 *   (MessagePack maps, and msgpackr's faster "records" extension).
 *
 * Each timed iteration handles BATCH messages, so timer resolution does not matter;
 * messages/s = BATCH / mean iteration time. The last line printed is one JSON object
 * with the headline figures. CODEC_BENCH_TIME_MS sets the time per task (default 1000).
 */
import * as os from 'node:os';
import { Packr } from 'msgpackr';
import { Bench } from 'tinybench';
import { OrderType, Side, TimeInForce } from '../core/codes';
import { encodeCommand } from '../core/record-objects';
import { EVENT_WORDS, EventHeader, Events } from '../core/schema';
import { DecodeStep, FrameDecoder } from '../gateway/protocol/decoder';
import { FrameEncoder } from '../gateway/protocol/encoder';
import { ClientTemplates, ServerTemplates } from '../gateway/protocol/wire-schema';

const BATCH = 1024;
const PER_FRAME = 64;
const TIME_MS = Number(process.env.CODEC_BENCH_TIME_MS ?? '1000');

function machineHeader(): Record<string, string | number> {
  return {
    cpu: (os.cpus()[0]?.model ?? 'unknown').trim(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// ---------------------------------------------------------------- fixtures

const newOrderValues = {
  account: 1234, instrument: 7, clientOrderId: 987_654, side: Side.Buy, orderType: OrderType.Limit,
  timeInForce: TimeInForce.GTC, price: 10_050, quantity: 300, stopPrice: 0, selfTradePrevention: 0, flags: 0, expireTime: 0,
};
const newOrderRecord = encodeCommand('NewOrder', newOrderValues);

const tradeRecord = new Float64Array(EVENT_WORDS);
const tradeValues = {
  instrument: 7, makerOrderId: 1_000_001, takerOrderId: 1_000_002, price: 10_050, quantity: 300, aggressorSide: Side.Buy,
  makerAccount: 55, takerAccount: 1234, makerLeaves: 200, takerLeaves: 0, makerFee: -15, takerFee: 30,
};
tradeRecord[EventHeader.type] = Events.Trade.code;
tradeRecord[EventHeader.sequence] = 123_456_789;
tradeRecord[EventHeader.timestamp] = 1_700_000_000_000_000;
for (const [name, value] of Object.entries(tradeValues)) tradeRecord[(Events.Trade.at as Record<string, number>)[name]] = value;

const newOrderObject = { template: 'NewOrder', sequence: 1, ...newOrderValues };
const tradeObject = { template: 'Trade', sequence: 1, eventSequence: 123_456_789, timestamp: 1_700_000_000_000_000, ...tradeValues };

const encoder = new FrameEncoder(new Uint8Array(16_384));

function frameOf(append: (sequence: number) => boolean, count: number): Uint8Array {
  encoder.reset();
  for (let i = 1; i <= count; i++) if (!append(i)) throw new Error('bench frame overflow');
  return encoder.view().slice();
}
const newOrderSingle = frameOf((s) => encoder.appendCommand(newOrderRecord, 0, s), 1);
const newOrderBatch = frameOf((s) => encoder.appendCommand(newOrderRecord, 0, s), PER_FRAME);
const tradeSingle = frameOf((s) => encoder.appendEvent(tradeRecord, 0, s), 1);
const tradeBatch = frameOf((s) => encoder.appendEvent(tradeRecord, 0, s), PER_FRAME);

const serverDecoder = new FrameDecoder(ClientTemplates);
const clientDecoder = new FrameDecoder(ServerTemplates);
const mapsPackr = new Packr({ useRecords: false });
const recordsPackr = new Packr({ structures: [] }); // records with shared structures: msgpackr's fastest mode
const packedMaps = { newOrder: mapsPackr.pack(newOrderObject), trade: mapsPackr.pack(tradeObject) };
const packedRecords = { newOrder: recordsPackr.pack(newOrderObject), trade: recordsPackr.pack(tradeObject) };

let sink = 0; // keeps results observable so nothing is optimised away

function decodeFrames(decoder: FrameDecoder, frame: Uint8Array, frames: number): void {
  for (let f = 0; f < frames; f++) {
    if (decoder.begin(frame) !== null) throw new Error('bench frame refused');
    while (decoder.next() === DecodeStep.Message) sink += decoder.record[5];
  }
}

// ---------------------------------------------------------------- tasks

const tasks: Record<string, () => void> = {
  'wire encode NewOrder (1/frame)': () => {
    for (let i = 1; i <= BATCH; i++) { encoder.reset(); encoder.appendCommand(newOrderRecord, 0, i); }
    sink += encoder.length;
  },
  'wire encode NewOrder (64/frame)': () => {
    for (let f = 0; f < BATCH / PER_FRAME; f++) {
      encoder.reset();
      for (let i = 1; i <= PER_FRAME; i++) encoder.appendCommand(newOrderRecord, 0, i);
    }
    sink += encoder.length;
  },
  'wire decode NewOrder (1/frame)': () => decodeFrames(serverDecoder, newOrderSingle, BATCH),
  'wire decode NewOrder (64/frame)': () => decodeFrames(serverDecoder, newOrderBatch, BATCH / PER_FRAME),
  'wire encode Trade (1/frame)': () => {
    for (let i = 1; i <= BATCH; i++) { encoder.reset(); encoder.appendEvent(tradeRecord, 0, i); }
    sink += encoder.length;
  },
  'wire encode Trade (64/frame)': () => {
    for (let f = 0; f < BATCH / PER_FRAME; f++) {
      encoder.reset();
      for (let i = 1; i <= PER_FRAME; i++) encoder.appendEvent(tradeRecord, 0, i);
    }
    sink += encoder.length;
  },
  'wire decode Trade (1/frame)': () => decodeFrames(clientDecoder, tradeSingle, BATCH),
  'wire decode Trade (64/frame)': () => decodeFrames(clientDecoder, tradeBatch, BATCH / PER_FRAME),
  'msgpackr pack NewOrder (maps)': () => { for (let i = 0; i < BATCH; i++) sink += mapsPackr.pack(newOrderObject).length; },
  'msgpackr unpack NewOrder (maps)': () => { for (let i = 0; i < BATCH; i++) sink += (mapsPackr.unpack(packedMaps.newOrder) as { price: number }).price; },
  'msgpackr pack Trade (maps)': () => { for (let i = 0; i < BATCH; i++) sink += mapsPackr.pack(tradeObject).length; },
  'msgpackr unpack Trade (maps)': () => { for (let i = 0; i < BATCH; i++) sink += (mapsPackr.unpack(packedMaps.trade) as { price: number }).price; },
  'msgpackr pack NewOrder (records)': () => { for (let i = 0; i < BATCH; i++) sink += recordsPackr.pack(newOrderObject).length; },
  'msgpackr unpack NewOrder (records)': () => { for (let i = 0; i < BATCH; i++) sink += (recordsPackr.unpack(packedRecords.newOrder) as { price: number }).price; },
  'msgpackr pack Trade (records)': () => { for (let i = 0; i < BATCH; i++) sink += recordsPackr.pack(tradeObject).length; },
  'msgpackr unpack Trade (records)': () => { for (let i = 0; i < BATCH; i++) sink += (recordsPackr.unpack(packedRecords.trade) as { price: number }).price; },
};

async function main(): Promise<void> {
  const machine = machineHeader();
  console.log(`machine  ${machine.cpu}, ${machine.cores} cores`);
  console.log(`runtime  Node ${machine.node}, ${machine.os}`);
  console.log(`bytes    wire NewOrder ${newOrderSingle.length}, Trade ${tradeSingle.length}; msgpack maps NewOrder ${packedMaps.newOrder.length}, Trade ${packedMaps.trade.length}`);
  console.log(`batch    ${BATCH} messages per timed iteration; ${TIME_MS} ms per task\n`);

  const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: Math.min(500, TIME_MS) });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  await bench.run();

  const rates: Record<string, number> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (!('period' in result)) throw new Error(`${task.name}: ${result.state}`);
    const messagesPerSecond = (BATCH / result.period) * 1000;
    rates[task.name] = messagesPerSecond;
    const nsPerMessage = (result.period * 1e6) / BATCH;
    console.log(`${task.name.padEnd(36)} ${(messagesPerSecond / 1e6).toFixed(2).padStart(7)} M msg/s  ${nsPerMessage.toFixed(0).padStart(5)} ns/msg  ±${result.latency.rme.toFixed(1)}%`);
  }
  if (sink === 0.5) console.log('unreachable'); // observe the sink

  const m = (name: string) => Math.round(rates[name]);
  console.log(JSON.stringify({
    bench: 'codec', ...machine,
    newOrderBytes: newOrderSingle.length, tradeBytes: tradeSingle.length,
    newOrderEncodePerSec: m('wire encode NewOrder (1/frame)'), newOrderDecodePerSec: m('wire decode NewOrder (1/frame)'),
    newOrderDecodeBatchedPerSec: m('wire decode NewOrder (64/frame)'),
    tradeEncodePerSec: m('wire encode Trade (1/frame)'), tradeDecodePerSec: m('wire decode Trade (1/frame)'),
    tradeEncodeBatchedPerSec: m('wire encode Trade (64/frame)'),
    msgpackrMapsNewOrderPackPerSec: m('msgpackr pack NewOrder (maps)'), msgpackrMapsNewOrderUnpackPerSec: m('msgpackr unpack NewOrder (maps)'),
    msgpackrRecordsTradePackPerSec: m('msgpackr pack Trade (records)'), msgpackrRecordsTradeUnpackPerSec: m('msgpackr unpack Trade (records)'),
  }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
