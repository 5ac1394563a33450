/**
 * The pure parts of journal-derived session sequences: the command stamp (origin
 * names the key, tagged), the routing rule (route() for all served keys equals
 * routes() for one, on seeded random events), the per-key sparse index, and the
 * replay history's starting point.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_WORDS, EventHeader, Events } from '../core/schema';
import {
  COMMAND_CLIENT_SEQUENCE_WORD, keyOrigin, ORIGIN_GATEWAY_SCALE, ORIGIN_KEY_TAG, originGatewayId, originKeyId,
} from '../gateway/order-entry/command-stamp';
import { KeyRouting, KeyStream, SEQUENCE_INDEX_STRIDE, SequenceIndex } from '../gateway/order-entry/key-routing';
import { ReplayHistory } from '../gateway/order-entry/replay-history';
import { ServerTemplates } from '../gateway/protocol/wire-schema';
import { mulberry32 } from './helpers/random-flow';

describe('command stamp', () => {
  it('a key origin names its key and gateway; the supervisor\'s and untagged (pre-key) origins name no key', () => {
    const origin = keyOrigin(3, 0xffff_fffe);
    assert.equal(originKeyId(origin), 0xffff_fffe);
    assert.equal(originGatewayId(origin), 3);
    assert.ok(Number.isSafeInteger(keyOrigin(2 ** 16 - 1, 2 ** 32 - 1)));
    assert.equal(originKeyId(0), 0, 'supervisor');
    assert.equal(originKeyId(2 * ORIGIN_GATEWAY_SCALE + 17), 0, 'an old journal\'s gatewayId x 2^32 + connection id');
    assert.equal(originKeyId(keyOrigin(1, 0)), 0, 'the gateway itself');
    assert.equal(originGatewayId(ORIGIN_KEY_TAG - 1), 0);
    assert.throws(() => keyOrigin(0, 5), /gatewayId/);
    assert.throws(() => keyOrigin(1, 2 ** 32), /keyId/);
    assert.throws(() => keyOrigin(2 ** 16, 1), /gatewayId/);
  });

  it('the client sequence word is past every command field', () => {
    assert.equal(COMMAND_CLIENT_SEQUENCE_WORD, 15);
  });
});

const KEYS = [
  { keyId: 2, account: 2 },
  { keyId: 4, account: 4 },
  { keyId: 6, account: 4 }, // a second key of account 4
  { keyId: 8, account: 0 }, // admin: no account
  { keyId: 10, account: 10 },
  { keyId: 3, account: 3 }, // served by the other gateway
];
const servesEven = (keyId: number) => keyId % 2 === 0;

function randomEvent(rnd: () => number, words: Float64Array, sequence: number): void {
  const names = Object.keys(Events) as Array<keyof typeof Events>;
  const spec = Events[names[Math.floor(rnd() * names.length)]];
  words.fill(0);
  words[EventHeader.type] = spec.code;
  words[EventHeader.sequence] = sequence;
  const originKey = [0, 2, 3, 4, 6, 8, 10, 99][Math.floor(rnd() * 8)];
  words[EventHeader.origin] = rnd() < 0.1 ? 2 * ORIGIN_GATEWAY_SCALE + originKey : originKey === 0 ? 0 : keyOrigin(1 + Math.floor(rnd() * 2), originKey);
  for (const field of spec.fields) words[field.word] = [0, 2, 3, 4, 10, 77][Math.floor(rnd() * 6)];
}

describe('key routing', () => {
  it('route() picks exactly the served keys routes() accepts, each once, on 20,000 seeded random events', () => {
    const routing = new KeyRouting(KEYS, servesEven);
    assert.deepEqual(routing.streams.map((s) => s.keyId), [2, 4, 6, 8, 10]);
    const rnd = mulberry32(7);
    const words = new Float64Array(EVENT_WORDS);
    let routed = 0;
    for (let sequence = 1; sequence <= 20_000; sequence++) {
      randomEvent(rnd, words, sequence);
      const n = routing.route(words, 0);
      const chosen = routing.recipients.slice(0, n).map((s) => s.keyId).sort((a, b) => a - b);
      const expected = routing.streams.filter((s) => KeyRouting.routes(words, 0, s)).map((s) => s.keyId);
      assert.deepEqual(chosen, expected, `event ${sequence}: ${Array.from(words.subarray(0, 8))}`);
      routed += n;
    }
    assert.ok(routed > 5_000, `the events exercised routing (${routed} deliveries)`);
  });

  it('the origin key, both keys of a named account, never a key of another gateway, never twice', () => {
    const routing = new KeyRouting(KEYS, servesEven);
    const words = new Float64Array(EVENT_WORDS);
    const trade = Events.Trade;
    words[EventHeader.type] = trade.code;
    words[EventHeader.sequence] = 1;
    words[EventHeader.origin] = keyOrigin(1, 8);
    words[trade.at.makerAccount] = 4;
    words[trade.at.takerAccount] = 4; // a self-trade names the account twice
    const n = routing.route(words, 0);
    assert.deepEqual(routing.recipients.slice(0, n).map((s) => s.keyId), [8, 4, 6]);
    words[trade.at.makerAccount] = 3; // key 3's account: the other gateway's
    words[EventHeader.origin] = 0;
    assert.deepEqual(routing.recipients.slice(0, routing.route(words, 0)).map((s) => s.keyId), [4, 6]);
    words[EventHeader.type] = 200; // not an event with a template
    assert.equal(routing.route(words, 0), 0);
  });

  it('every sequenced server template is a core event (nothing else takes a server sequence)', () => {
    for (const template of ServerTemplates.templates) assert.equal(template.sequenced, template.coreCode !== 0, template.name);
  });
});

describe('sequence index', () => {
  it('a key stream adds an entry at its messages 1, STRIDE + 1, 2 x STRIDE + 1, ...', () => {
    const stream = new KeyStream(4, 4);
    for (let event = 1; stream.nextServerSequence <= 3 * SEQUENCE_INDEX_STRIDE + 1; event += 3) stream.take(event);
    assert.equal(stream.index.count, 4);
    for (let c = 0; c < 4; c++) assert.equal(stream.index.eventSequence(c), 1 + 3 * c * SEQUENCE_INDEX_STRIDE);
  });

  it('grows, then forgets the oldest entries: older messages are out of reach', () => {
    const index = new SequenceIndex(40);
    for (let c = 0; c < 50; c++) index.add(1000 + 7 * c);
    assert.equal(index.count, 50);
    assert.equal(index.firstHeld, 10);
    assert.equal(index.entryFor(1), -1, 'forgotten');
    assert.equal(index.entryFor(10 * SEQUENCE_INDEX_STRIDE), -1);
    assert.equal(index.entryFor(10 * SEQUENCE_INDEX_STRIDE + 1), 10);
    assert.equal(index.entryFor(50 * SEQUENCE_INDEX_STRIDE), 49);
    assert.equal(index.entryFor(50 * SEQUENCE_INDEX_STRIDE + 1), -1, 'not numbered yet');
    assert.equal(index.eventSequence(10), 1070);
    assert.equal(index.eventSequence(49), 1343);
    assert.throws(() => index.add(5), /not after/);
    assert.throws(() => new SequenceIndex(0), /capacity/);
  });
});

describe('replay history', () => {
  it('holds from the sequence it was created at, without gaps', () => {
    const history = new ReplayHistory(8, 4, 100);
    assert.equal(history.first, 100);
    assert.equal(history.last, 99);
    assert.equal(history.get(99), null);
    for (let s = 100; s <= 105; s++) history.store(s, new Uint8Array([s]));
    assert.equal(history.first, 102);
    assert.deepEqual([...history.get(105)!], [105]);
    assert.equal(history.get(101), null);
    assert.throws(() => history.store(107, new Uint8Array(1)), /after 105/);
  });
});
