/**
 * Session layer: logon (HMAC and Ed25519), nonce and clock-skew checks, one live
 * session per key, client sequence retransmissions, heartbeat/test-request timing,
 * throttling with retry-after, dead-man switch, cancel-on-disconnect, permissions.
 * All time is passed in (µs); nothing here reads the clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Side } from '../core/codes';
import { DecodeStep, FrameDecoder } from '../gateway/protocol/decoder';
import { FrameEncoder } from '../gateway/protocol/encoder';
import { ProtocolError } from '../gateway/protocol/errors';
import { fromRecord, recordOf, toRecord } from '../gateway/protocol/messages';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { CancelOnDisconnect } from '../gateway/protocol/session-schema';
import { ClientTemplates, ServerTemplates, WireTemplate } from '../gateway/protocol/wire-schema';
import {
  LOGON_SIGNING_BYTES, LogonAuthenticator, logonSigningBytes, signLogonEd25519, signLogonHmac,
} from '../gateway/session/auth';
import { KeyRegistry } from '../gateway/session/key-registry';
import { logonRequestFrom, LogonRequest, processLogon, writeLogonAck } from '../gateway/session/logon';
import { authorize } from '../gateway/session/permissions';
import { SequenceCheck, Session, SessionPhase, TimerAction } from '../gateway/session/session-state';
import { SessionRegistry } from '../gateway/session/session-registry';
import { SessionThrottle, throttleClassOf, ThrottleClass, TokenBucket } from '../gateway/session/throttle';

const T0 = 1_700_000_000_000_000; // µs
const MS = 1000;
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const HMAC_KEY = 11;
const ED_KEY = 12;
const ADMIN_KEY = 13;
const ED = generateKeyPairSync('ed25519');
const T = (name: string): WireTemplate => ClientTemplates.byName[name];

function setup(authOptions = {}) {
  const keys = new KeyRegistry();
  keys.add({ keyId: HMAC_KEY, account: 7, permissions: ['trade'], type: 'hmac-sha256', secret: SECRET });
  keys.add({ keyId: ED_KEY, account: 8, permissions: ['trade', 'marketdata'], type: 'ed25519', publicKey: ED.publicKey.export({ format: 'der', type: 'spki' }) });
  keys.add({ keyId: ADMIN_KEY, account: 0, permissions: ['admin', 'backoffice'], type: 'hmac-sha256', secret: SECRET });
  return { keys, auth: new LogonAuthenticator(keys, authOptions), registry: new SessionRegistry() };
}

function hmacLogon(now: number, nonce: number, extra: Partial<LogonRequest> = {}, keyId = HMAC_KEY): LogonRequest {
  const timestampMicros = extra.timestampMicros ?? now;
  return { keyId, timestampMicros, nonce, heartbeatIntervalMs: 0, cancelOnDisconnect: 0, signature: signLogonHmac(SECRET, keyId, timestampMicros, nonce), ...extra };
}

function edLogon(now: number, nonce: number): LogonRequest {
  return { keyId: ED_KEY, timestampMicros: now, nonce, heartbeatIntervalMs: 500, cancelOnDisconnect: CancelOnDisconnect.Off, signature: signLogonEd25519(ED.privateKey, ED_KEY, now, nonce) };
}

function loggedOn(options = {}, request?: LogonRequest) {
  const ctx = setup();
  const session = new Session(options, T0);
  assert.equal(processLogon(ctx.auth, ctx.registry, session, request ?? hmacLogon(T0, 1), T0), null);
  return { ...ctx, session };
}

function expectError(error: ProtocolError | null, code: string, closeCode?: number): void {
  assert.ok(error !== null, `expected ${code}`);
  assert.equal(error.code, code, error.message);
  if (closeCode !== undefined) assert.equal(error.closeCode, closeCode);
}

describe('logon', () => {
  it('signs exactly the documented 28 bytes', () => {
    const bytes = logonSigningBytes(0x01020304, 5, -1);
    assert.equal(bytes.length, LOGON_SIGNING_BYTES);
    assert.equal(bytes.toString('hex'), Buffer.concat([Buffer.from('EXLOGON1'), Buffer.from('04030201', 'hex'), Buffer.from('0500000000000000', 'hex'), Buffer.from('ffffffffffffffff', 'hex')]).toString('hex'));
  });

  it('accepts a good HMAC-SHA256 logon: active, cancel-on-disconnect on by default, default heartbeat', () => {
    const { session, registry } = loggedOn();
    assert.equal(session.phase, SessionPhase.Active);
    assert.equal(session.cancelOnDisconnect, true);
    assert.equal(session.heartbeatIntervalMs, 1000);
    assert.equal(registry.liveSession(HMAC_KEY), session);
    const ack = fromRecord(ServerTemplates.byName.LogonAck, writeLogonAck(session));
    assert.deepEqual(ack, { nextServerSequence: 1, lastClientSequence: 0, heartbeatIntervalMs: 1000, cancelOnDisconnect: CancelOnDisconnect.On });
  });

  it('accepts a good Ed25519 logon with cancel-on-disconnect opted out', () => {
    const { session } = loggedOn({}, edLogon(T0, 99));
    assert.equal(session.key!.keyId, ED_KEY);
    assert.equal(session.cancelOnDisconnect, false);
    assert.equal(session.heartbeatIntervalMs, 500);
  });

  it('refuses a bad signature (HMAC and Ed25519), unknown keys and non-zero HMAC padding', () => {
    const { auth, registry } = setup();
    const bad = hmacLogon(T0, 1);
    const tampered = bad.signature.slice();
    tampered[0] ^= 1;
    expectError(processLogon(auth, registry, new Session({}, T0), { ...bad, signature: tampered }, T0), 'LOGON_BAD_SIGNATURE', 4002);
    const padded = bad.signature.slice();
    padded[40] = 1;
    expectError(processLogon(auth, registry, new Session({}, T0), { ...bad, signature: padded }, T0), 'LOGON_BAD_SIGNATURE');
    expectError(processLogon(auth, registry, new Session({}, T0), { ...bad, nonce: 2 }, T0), 'LOGON_BAD_SIGNATURE'); // signed nonce differs
    const ed = edLogon(T0, 5);
    expectError(processLogon(auth, registry, new Session({}, T0), { ...ed, timestampMicros: T0 + 1 }, T0), 'LOGON_BAD_SIGNATURE');
    expectError(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 1, {}, 999), T0), 'LOGON_UNKNOWN_KEY', 4002);
    assert.equal(auth.noncesHeld(HMAC_KEY), 0, 'failed logons leave no nonce behind');
  });

  it('refuses a replayed nonce', () => {
    const { auth, registry } = setup();
    const first = new Session({}, T0);
    const request = hmacLogon(T0, 12345);
    assert.equal(processLogon(auth, registry, first, request, T0), null);
    registry.release(first);
    expectError(processLogon(auth, registry, new Session({}, T0 + MS), request, T0 + MS), 'LOGON_NONCE_REUSED', 4002);
    // same nonce, fresh timestamp: still a reuse while remembered
    expectError(processLogon(auth, registry, new Session({}, T0 + MS), hmacLogon(T0 + MS, 12345), T0 + MS), 'LOGON_NONCE_REUSED');
    assert.equal(processLogon(auth, registry, new Session({}, T0 + MS), hmacLogon(T0 + MS, 12346), T0 + MS), null);
  });

  it('refuses clock skew beyond clockSkewMaxMicros, accepts it at the limit', () => {
    const { auth, registry } = setup({ clockSkewMaxMicros: 2_000_000 });
    expectError(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 1, { timestampMicros: T0 - 2_000_001 }), T0), 'LOGON_CLOCK_SKEW', 4002);
    expectError(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 2, { timestampMicros: T0 + 2_000_001 }), T0), 'LOGON_CLOCK_SKEW');
    assert.equal(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 3, { timestampMicros: T0 + 2_000_000 }), T0), null);
  });

  it('refuses a second live session for the key; after release the key logs on again and sequences continue', () => {
    const { auth, registry, session } = loggedOn();
    session.takeServerSequence();
    session.takeServerSequence();
    assert.equal(session.checkClientSequence(4), SequenceCheck.New);
    const second = new Session({}, T0 + MS);
    expectError(processLogon(auth, registry, second, hmacLogon(T0 + MS, 2), T0 + MS), 'LOGON_SESSION_ACTIVE', 4002);
    assert.equal(registry.liveSession(HMAC_KEY), session, 'the live session is untouched');
    assert.equal(second.phase, SessionPhase.AwaitingLogon);
    assert.deepEqual(registry.release(session), { cancelAccount: 7 });
    const third = new Session({}, T0 + 2 * MS);
    assert.equal(processLogon(auth, registry, third, hmacLogon(T0 + 2 * MS, 3), T0 + 2 * MS), null);
    const ack = fromRecord(ServerTemplates.byName.LogonAck, writeLogonAck(third));
    assert.equal(ack.nextServerSequence, 3);
    assert.equal(ack.lastClientSequence, 4);
    assert.equal(third.checkClientSequence(4), SequenceCheck.Retransmission);
  });

  it('refuses bad logon parameters and a second Logon on the same connection', () => {
    const { auth, registry } = setup();
    expectError(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 1, { heartbeatIntervalMs: 5 }), T0), 'LOGON_BAD_PARAMETERS', 4002);
    expectError(processLogon(auth, registry, new Session({}, T0), hmacLogon(T0, 2, { cancelOnDisconnect: 3 }), T0), 'LOGON_BAD_PARAMETERS');
    assert.equal(registry.liveSession(HMAC_KEY), null, 'a refused logon claims nothing');
    const session = new Session({}, T0);
    assert.equal(processLogon(auth, registry, session, hmacLogon(T0, 3), T0), null);
    expectError(processLogon(auth, registry, session, hmacLogon(T0, 4), T0), 'LOGON_DUPLICATE');
  });

  it('bounds nonce memory per key: old nonces age out, overflow raises the replay floor', () => {
    const { auth, registry } = setup({ clockSkewMaxMicros: 1_000_000, noncesPerKeyMax: 4 });
    let now = T0;
    const logon = (nonce: number, timestamp = now) => {
      const session = new Session({}, now);
      const error = processLogon(auth, registry, session, hmacLogon(now, nonce, { timestampMicros: timestamp }), now);
      if (error === null) registry.release(session);
      return error;
    };
    for (let n = 1; n <= 4; n++) { assert.equal(logon(n), null); now += 1000; }
    assert.equal(auth.noncesHeld(HMAC_KEY), 4);
    assert.equal(logon(5), null); // full: the oldest (nonce 1 at T0) is evicted and the floor rises to T0
    assert.equal(auth.noncesHeld(HMAC_KEY), 4);
    expectError(logon(1, T0), 'LOGON_NONCE_REUSED'); // evicted, but its timestamp is at the floor
    now += 2_000_000; // everything is older than the skew window now
    assert.equal(logon(6), null);
    assert.equal(auth.noncesHeld(HMAC_KEY), 1);
  });

  it('validates keys and options with precise messages', () => {
    const keys = new KeyRegistry({ maxKeys: 1 });
    assert.throws(() => keys.add({ keyId: 1, account: 1, permissions: ['trade'], type: 'hmac-sha256', secret: Buffer.alloc(8) }), /at least 32 bytes/);
    assert.throws(() => keys.add({ keyId: 0, account: 1, permissions: ['trade'], type: 'hmac-sha256', secret: SECRET }), /keyId/);
    assert.throws(() => keys.add({ keyId: 1, account: 0, permissions: ['trade'], type: 'hmac-sha256', secret: SECRET }), /trade key needs an account/);
    assert.throws(() => keys.add({ keyId: 1, account: 1, permissions: ['root' as never], type: 'hmac-sha256', secret: SECRET }), /unknown permission/);
    assert.throws(() => keys.add({ keyId: 1, account: 1, permissions: ['trade'], type: 'ed25519', publicKey: ED.privateKey }), /ed25519 public key/);
    keys.add({ keyId: 1, account: 1, permissions: ['trade'], type: 'ed25519', publicKey: Buffer.from(ED.publicKey.export({ format: 'jwk' }).x!, 'base64url') }); // raw 32 bytes
    assert.throws(() => keys.add({ keyId: 2, account: 1, permissions: ['trade'], type: 'hmac-sha256', secret: SECRET }), /maxKeys 1 reached/);
    assert.throws(() => new LogonAuthenticator(keys, { clockSkewMaxMicros: 0 }), /clockSkewMaxMicros/);
    assert.throws(() => new Session({ heartbeatIntervalMsDefault: 50 }, T0), /heartbeatIntervalMsDefault must be an integer in 100\.\./);
    assert.throws(() => new SessionThrottle({ ordersPerSecond: 0 }, T0), /ordersPerSecond must be an integer in 1\.\./);
  });

  it('runs end to end through the codec: client Logon frame in, LogonAck frame out', () => {
    const { auth, registry } = setup();
    const clientEncoder = new FrameEncoder(new Uint8Array(4096));
    const nonce = randomBytes(6).readUIntLE(0, 6);
    const logon = T('Logon');
    clientEncoder.reset();
    clientEncoder.append(logon, toRecord(logon, { keyId: HMAC_KEY, timestampMicros: T0, nonce, heartbeatIntervalMs: 2000 }), 0, 0, signLogonHmac(SECRET, HMAC_KEY, T0, nonce));
    const serverDecoder = new FrameDecoder(ClientTemplates);
    assert.equal(serverDecoder.begin(clientEncoder.view()), null);
    assert.equal(serverDecoder.next(), DecodeStep.Message);
    const session = new Session({}, T0);
    session.onInbound(T0);
    assert.equal(session.admit(serverDecoder.template!), null);
    assert.equal(processLogon(auth, registry, session, logonRequestFrom(serverDecoder.record, serverDecoder.blob), T0), null);
    const serverEncoder = new FrameEncoder(new Uint8Array(4096));
    serverEncoder.reset();
    serverEncoder.append(ServerTemplates.byName.LogonAck, writeLogonAck(session), 0, 0);
    const clientDecoder = new FrameDecoder(ServerTemplates);
    assert.equal(clientDecoder.begin(serverEncoder.view()), null);
    assert.equal(clientDecoder.next(), DecodeStep.Message);
    assert.equal(clientDecoder.template!.name, 'LogonAck');
    assert.equal(fromRecord(clientDecoder.template!, clientDecoder.record).heartbeatIntervalMs, 2000);
  });
});

describe('session state', () => {
  it('admits only Logon before logon, not a second Logon after, nothing after logout', () => {
    const fresh = new Session({}, T0);
    assert.equal(fresh.admit(T('NewOrder')), 'LOGON_REQUIRED');
    assert.equal(fresh.admit(T('Heartbeat')), 'LOGON_REQUIRED');
    assert.equal(fresh.admit(T('Logon')), null);
    const { session } = loggedOn();
    assert.equal(session.admit(T('NewOrder')), null);
    assert.equal(session.admit(T('Logon')), 'LOGON_DUPLICATE');
    session.logout();
    assert.equal(session.admit(T('NewOrder')), 'SESSION_LOGGED_OUT');
  });

  it('ignores client sequences at or below the last processed as retransmissions; gaps are allowed', () => {
    const { session } = loggedOn();
    const checks = [1, 2, 2, 1, 5, 3, 5, 6].map((s) => session.checkClientSequence(s));
    const { New, Retransmission } = SequenceCheck;
    assert.deepEqual(checks, [New, New, Retransmission, Retransmission, New, Retransmission, Retransmission, New]);
    assert.equal(session.record!.sequences.lastClientSequence, 6);
  });

  it('numbers server messages 1, 2, 3, ...', () => {
    const { session } = loggedOn();
    assert.deepEqual([session.takeServerSequence(), session.takeServerSequence(), session.takeServerSequence()], [1, 2, 3]);
  });

  it('heartbeats after an idle interval, test-requests after a silent interval + grace, disconnects after 3 intervals + grace', () => {
    const { session } = loggedOn({ heartbeatGraceMs: 200 }); // interval 1000 ms
    const at = (ms: number) => T0 + ms * MS;
    assert.equal(session.poll(at(999)), TimerAction.None);
    assert.equal(session.poll(at(1000)), TimerAction.SendHeartbeat);
    assert.equal(session.poll(at(1000)), TimerAction.None, 'each action once');
    assert.equal(session.poll(at(1199)), TimerAction.None);
    assert.equal(session.poll(at(1200)), TimerAction.SendTestRequest);
    assert.equal(session.testRequestId, 1);
    assert.equal(session.poll(at(2199)), TimerAction.None, 'one test request per silence; it reset the send timer');
    assert.equal(session.poll(at(2200)), TimerAction.SendHeartbeat);
    assert.equal(session.poll(at(3199)), TimerAction.None);
    assert.equal(session.poll(at(3200)), TimerAction.DisconnectMissedHeartbeats);
    assert.equal(session.phase, SessionPhase.LoggedOut);
    assert.equal(session.poll(at(9999)), TimerAction.None);
  });

  it('inbound traffic clears the test request and restarts the inbound deadline', () => {
    const { session } = loggedOn({ heartbeatGraceMs: 0 });
    const at = (ms: number) => T0 + ms * MS;
    session.onOutbound(at(1000));
    assert.equal(session.poll(at(1000)), TimerAction.SendTestRequest);
    session.onInbound(at(1100));
    session.onHeartbeat(at(1100));
    assert.equal(session.testRequestId, 0);
    assert.equal(session.poll(at(2099)), TimerAction.SendHeartbeat);
    assert.equal(session.poll(at(2099)), TimerAction.None);
    assert.equal(session.poll(at(2100)), TimerAction.SendTestRequest);
    assert.equal(session.testRequestId, 2);
    assert.equal(session.poll(at(3099)), TimerAction.None);
    assert.equal(session.poll(at(3100)), TimerAction.SendHeartbeat);
    assert.equal(session.poll(at(4099)), TimerAction.None);
    assert.equal(session.poll(at(4100)), TimerAction.DisconnectMissedHeartbeats);
  });

  it('drops a connection that does not log on within logonTimeoutMs', () => {
    const session = new Session({ logonTimeoutMs: 2000 }, T0);
    assert.equal(session.poll(T0 + 1999 * MS), TimerAction.None);
    assert.equal(session.poll(T0 + 2000 * MS), TimerAction.DisconnectLogonTimeout);
    assert.equal(session.poll(T0 + 2001 * MS), TimerAction.None);
  });
});

describe('dead-man switch and cancel-on-disconnect', () => {
  it('fires once when neither a heartbeat nor a re-arm arrives within the timeout', () => {
    const { session } = loggedOn({ heartbeatIntervalMsDefault: 60_000 });
    const at = (ms: number) => T0 + ms * MS;
    assert.equal(session.armDeadManSwitch(1000, at(0)), null);
    session.onInbound(at(900));
    session.onHeartbeat(at(900)); // deadline -> 1900
    assert.equal(session.poll(at(1899)), TimerAction.None);
    session.onInbound(at(1500)); // a non-heartbeat message does not feed the switch
    assert.equal(session.poll(at(1900)), TimerAction.DeadManSwitchFired);
    assert.equal(session.poll(at(5000)), TimerAction.None, 'fired once, now disarmed');
    assert.equal(session.record!.deadMan.armed, false);
  });

  it('re-arming moves the deadline, 0 disarms, out-of-range timeouts are refused', () => {
    const { session } = loggedOn({ heartbeatIntervalMsDefault: 60_000 });
    assert.equal(session.armDeadManSwitch(1000, T0), null);
    assert.equal(session.armDeadManSwitch(1000, T0 + 800 * MS), null);
    assert.equal(session.poll(T0 + 1500 * MS), TimerAction.None);
    assert.equal(session.armDeadManSwitch(0, T0 + 1500 * MS), null);
    assert.equal(session.poll(T0 + 59_000 * MS), TimerAction.None, 'disarmed: never fires');
    assert.equal(session.armDeadManSwitch(10, T0), 'DEAD_MAN_TIMEOUT_OUT_OF_RANGE');
    assert.equal(session.armDeadManSwitch(10_000_000, T0), 'DEAD_MAN_TIMEOUT_OUT_OF_RANGE');
  });

  it('cancel-on-disconnect (default): release says mass-cancel the account and disarms the switch', () => {
    const { session, registry } = loggedOn();
    session.armDeadManSwitch(1000, T0);
    assert.deepEqual(registry.release(session), { cancelAccount: 7 });
    assert.equal(registry.pollDisconnected(T0 + 10_000 * MS), 0);
  });

  it('opted out: no cancel on disconnect, but an armed switch still fires while disconnected', () => {
    const { session, registry } = loggedOn({}, edLogon(T0, 1));
    session.armDeadManSwitch(1000, T0);
    assert.deepEqual(registry.release(session), { cancelAccount: 0 });
    assert.equal(registry.pollDisconnected(T0 + 999 * MS), 0);
    assert.equal(registry.pollDisconnected(T0 + 1000 * MS), 8);
    assert.equal(registry.pollDisconnected(T0 + 1001 * MS), 0);
  });
});

describe('throttle', () => {
  it('admits a burst, then rejects with retry-after, and refills over passed-in time', () => {
    const throttle = new SessionThrottle({ ordersPerSecond: 100, orderBurst: 100 }, T0);
    const order = T('NewOrder');
    for (let i = 0; i < 100; i++) assert.equal(throttle.admit(order, T0), 0);
    assert.equal(throttle.admit(order, T0), 10, '1 token at 100/s = 10 ms');
    assert.equal(throttle.admit(order, T0 + 4 * MS), 6);
    assert.equal(throttle.admit(order, T0 + 10 * MS), 0);
    assert.equal(throttle.admit(order, T0 + 10 * MS), 10);
    assert.equal(throttle.orders.available(T0 + 10 * MS + 2_000_000), 100, 'refills to the burst, no further');
  });

  it('keeps cancels in their own, more generous bucket; session messages are unthrottled', () => {
    const throttle = new SessionThrottle({}, T0);
    for (let i = 0; i < 100; i++) assert.equal(throttle.admit(T('NewOrder'), T0), 0);
    assert.ok(throttle.admit(T('ReplaceOrder'), T0) > 0);
    for (let i = 0; i < 500; i++) assert.equal(throttle.admit(i % 2 ? T('CancelOrder') : T('MassCancel'), T0), 0);
    assert.equal(throttle.admit(T('CancelOrder'), T0), 2, '1 token at 500/s = 2 ms');
    for (let i = 0; i < 1000; i++) assert.equal(throttle.admit(T('Heartbeat'), T0), 0);
    assert.equal(throttleClassOf(T('Logon')), ThrottleClass.None);
    assert.equal(throttleClassOf(T('OrderStatusRequest')), ThrottleClass.Order);
    assert.equal(throttleClassOf(T('MassCancel')), ThrottleClass.Cancel);
  });

  it('never admits more than burst + rate x elapsed, and a retry after retry-after succeeds (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 300 }),
      fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 300 }),
      (rate, burst, gaps) => {
        const bucket = new TokenBucket(rate, burst, T0);
        let now = T0;
        let admitted = 0;
        for (const gap of gaps) {
          now += gap;
          const retryMs = bucket.take(now);
          if (retryMs !== 0) {
            assert.ok(retryMs >= 1);
            now += retryMs * MS;
            assert.equal(bucket.take(now), 0, 'a token is there after retry-after');
          }
          admitted++;
          assert.ok(admitted <= burst + Math.floor(((now - T0) * rate) / 1e6), `admitted ${admitted}`);
        }
      }), { numRuns: 300 });
  });
});

describe('permissions', () => {
  const trader = { account: 7, permissionMask: 1 };
  const admin = { account: 0, permissionMask: 4 | 2 };
  const check = (principal: typeof trader, name: string, values: Record<string, number>) => authorize(T(name), recordOf(ClientTemplates, name, values), principal);

  it('trade keys trade their own account only', () => {
    assert.equal(check(trader, 'NewOrder', { account: 7, side: Side.Buy }), null);
    assert.equal(check(trader, 'NewOrder', { account: 8 }), 'ACCOUNT_MISMATCH');
    assert.equal(check(trader, 'MassCancel', { account: 0 }), 'ACCOUNT_MISMATCH');
    assert.equal(check(trader, 'AddInstrument', { instrument: 1 }), 'NOT_PERMITTED');
    assert.equal(check(trader, 'Deposit', { account: 7, amount: 1 }), 'NOT_PERMITTED');
    assert.equal(check(trader, 'Heartbeat', {}), null);
  });

  it('admin and back office reach every account; admin cannot enter orders', () => {
    assert.equal(check(admin, 'MassCancel', { account: 0 }), null);
    assert.equal(check(admin, 'Deposit', { account: 99, amount: 1 }), null);
    assert.equal(check(admin, 'PositionsRequest', { account: 99 }), null);
    assert.equal(check(admin, 'HaltInstrument', { instrument: 1 }), null);
    assert.equal(check(admin, 'NewOrder', { account: 99 }), 'NOT_PERMITTED');
  });

  it('gateway reject codes live above the core range', () => {
    assert.ok(Object.values(GatewayReject).every((code) => code >= 1000));
  });
});
