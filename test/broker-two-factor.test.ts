/**
 * Two-factor authentication (docs/broker-api.md, "Two-factor authentication"): enroll
 * (secret + otpauth URI), confirm with a first code, then login needs a code, a code
 * works once, disable with a code; wrong codes count as failed logins; one user's 2FA
 * is never another's to change. Codes come from gateway/broker/totp.ts, which
 * test/totp.test.ts checks against the RFC 6238 vectors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestExchange } from './helpers/test-exchange';
import { Api, newUser, startBrokerExchange } from './helpers/broker-api';
import { base32Decode, totp } from '../gateway/broker/totp';

const STEP_MS = 30_000;

/** Waits until at least `needMs` remain in the current 30 s step; returns a time inside it (codes for steps around it). */
async function stepWithRoom(needMs = 10_000): Promise<number> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 200));
  return Date.now();
}

describe('broker two-factor authentication', { timeout: 90_000 }, () => {
  let exchange: TestExchange;
  let base = '';
  const anonymous = () => Object.assign(new Api(base), { patient: true });
  const login = (email: string, password: string, code?: string) => anonymous().call('POST', '/api/login', { email, password, ...(code === undefined ? {} : { code }) });

  before(async () => {
    ({ exchange, base } = await startBrokerExchange());
  });

  after(async () => {
    await exchange?.stop();
  });

  it('enroll, confirm, log in with a code (once), disable with a code', async () => {
    const email = 'tess@example.com';
    const password = `${email} long password`;
    const { api } = await newUser(base, email);
    assert.equal((await anonymous().call('POST', '/api/2fa/enroll')).status, 401);
    const enrolled = await api.call('POST', '/api/2fa/enroll');
    assert.equal(enrolled.status, 201);
    const { secret, uri } = enrolled.body;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(uri, `otpauth://totp/Broker:tess%40example.com?secret=${secret}&issuer=Broker&algorithm=SHA1&digits=6&period=30`);
    assert.equal((await login(email, password)).status, 200, 'not on until confirmed');
    const key = base32Decode(secret);

    const now = await stepWithRoom();
    const code = (steps: number) => totp(key, now + steps * STEP_MS);
    assert.equal((await api.call('POST', '/api/2fa/confirm', { code: 12345 })).body.error.field, 'code');
    const wrong = await api.call('POST', '/api/2fa/confirm', { code: code(5) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'BROKER_2FA_INVALID');
    assert.deepEqual((await api.call('POST', '/api/2fa/confirm', { code: code(-1) })).body, { twoFactor: true });
    assert.equal((await api.call('GET', '/api/me')).body.user.twoFactor, true);
    assert.equal((await api.call('POST', '/api/2fa/enroll')).body.error.code, 'BROKER_2FA_STATE');
    assert.equal((await api.call('POST', '/api/2fa/confirm', { code: code(0) })).body.error.code, 'BROKER_2FA_STATE');

    const missing = await login(email, password);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 'BROKER_2FA_REQUIRED');
    assert.equal(missing.body.token, undefined);
    assert.equal((await login(email, password, code(3))).body.error.code, 'BROKER_2FA_INVALID', 'outside the window');
    assert.equal((await login(email, 'not the password', code(0))).body.error.code, 'BROKER_INVALID_CREDENTIALS', 'a code does not replace the password');
    assert.equal((await login(email, password, code(-1))).body.error.code, 'BROKER_2FA_INVALID', 'the code used to confirm');
    const ok = await login(email, password, code(0));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.ok(typeof ok.body.token === 'string');
    assert.equal((await login(email, password, code(0))).body.error.code, 'BROKER_2FA_INVALID', 'a code works once');

    assert.equal((await api.call('POST', '/api/2fa/disable', { code: code(0) })).body.error.code, 'BROKER_2FA_INVALID', 'used already');
    assert.deepEqual((await api.call('POST', '/api/2fa/disable', { code: code(1) })).body, { twoFactor: false });
    assert.equal((await login(email, password)).status, 200, 'no code needed any more');
    assert.equal((await api.call('POST', '/api/2fa/disable', { code: code(1) })).body.error.code, 'BROKER_2FA_STATE');
  });

  it('one user cannot change another\'s 2FA; a password reset keeps it on', async () => {
    const a = await newUser(base, 'uma@example.com');
    const b = await newUser(base, 'ugo@example.com');
    const { secret } = (await a.api.call('POST', '/api/2fa/enroll')).body;
    const key = base32Decode(secret);
    const now = await stepWithRoom();
    const code = (steps: number) => totp(key, now + steps * STEP_MS);
    assert.equal((await a.api.call('POST', '/api/2fa/confirm', { code: code(-1) })).status, 200);
    // B holds A's valid code: B's own 2FA is off, and A's stays on.
    assert.equal((await b.api.call('POST', '/api/2fa/disable', { code: code(0) })).body.error.code, 'BROKER_2FA_STATE');
    assert.equal((await b.api.call('POST', '/api/2fa/confirm', { code: code(0) })).body.error.code, 'BROKER_2FA_STATE', 'B never enrolled');
    assert.equal((await b.api.call('GET', '/api/me')).body.user.twoFactor, false);
    assert.equal((await login('uma@example.com', 'uma@example.com long password')).body.error.code, 'BROKER_2FA_REQUIRED');
    // B enrolling gets B's own secret; A's login still takes A's codes.
    const bSecret = (await b.api.call('POST', '/api/2fa/enroll')).body.secret;
    assert.notEqual(bSecret, secret);
    assert.equal((await login('uma@example.com', 'uma@example.com long password', totp(base32Decode(bSecret), now))).body.error.code, 'BROKER_2FA_INVALID');

    await anonymous().call('POST', '/api/password-reset', { email: 'uma@example.com' });
    const outbox = (await new Api(base, exchange.config.adminToken).call('GET', '/api/admin/outbox?email=uma@example.com')).body.messages;
    const token = /#reset=([\w-]+)/.exec(outbox.find((m: any) => m.kind === 'password-reset').body)![1];
    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token, password: 'umas new password' })).status, 200);
    assert.equal((await login('uma@example.com', 'umas new password')).body.error.code, 'BROKER_2FA_REQUIRED', 'a reset does not remove the second factor');
    assert.equal((await login('uma@example.com', 'umas new password', code(0))).status, 200);
  });

  it('wrong codes count as failed logins', async () => {
    const { api } = await newUser(base, 'vic@example.com');
    const { secret } = (await api.call('POST', '/api/2fa/enroll')).body;
    const key = base32Decode(secret);
    const now = await stepWithRoom();
    assert.equal((await api.call('POST', '/api/2fa/confirm', { code: totp(key, now - STEP_MS) })).status, 200);
    const wrong = totp(key, now + 10 * STEP_MS);
    for (let i = 0; i < 5; i++) assert.equal((await login('vic@example.com', 'vic@example.com long password', wrong)).body.error.code, 'BROKER_2FA_INVALID');
    const blocked = await login('vic@example.com', 'vic@example.com long password', totp(key, now));
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'BROKER_LOGIN_RATE_LIMITED', 'even the right code waits');
    assert.equal((await api.call('POST', '/api/2fa/disable', { code: totp(key, now) })).body.error.code, 'BROKER_LOGIN_RATE_LIMITED', 'and disabling too');
  });
});
