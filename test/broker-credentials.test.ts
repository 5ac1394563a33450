/**
 * Password reset and e-mail verification without real e-mail (docs/broker-api.md,
 * "Password reset and e-mail verification"): tokens delivered to the development
 * outbox (read through the admin endpoint), single use, expiring, one live token per
 * user and purpose; a reset sets a new password and ends every session; mails are
 * rate-limited per address and IP; wrong tokens count as failed logins of the IP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import type { TestExchange } from './helpers/test-exchange';
import { Api, brokerOf, newUser, startBrokerExchange } from './helpers/broker-api';

describe('broker password reset and e-mail verification', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let base = '';
  const anonymous = () => Object.assign(new Api(base), { patient: true });
  const admin = () => new Api(base, exchange.config.adminToken);
  /** The newest mail to `email` of `kind`, and the token of its link. */
  const mail = async (email: string, kind: string) => {
    const answer = await admin().call('GET', `/api/admin/outbox?email=${encodeURIComponent(email)}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const message = answer.body.messages.find((m: any) => m.kind === kind);
    if (message === undefined) return undefined;
    const fragment = kind === 'password-reset' ? 'reset' : 'verify';
    const token = new RegExp(`/#${fragment}=([A-Za-z0-9_-]+)`).exec(message.body)?.[1];
    assert.ok(token !== undefined, message.body);
    assert.ok(message.body.includes(`code: ${token}`));
    return { message, token: token! };
  };
  const login = (email: string, password: string) => anonymous().call('POST', '/api/login', { email, password });

  before(async () => {
    ({ exchange, base } = await startBrokerExchange());
  });

  after(async () => {
    await exchange?.stop();
  });

  it('sign-up mails a verification link; verifying it is single use', async () => {
    const { api } = await newUser(base, 'vera@example.com');
    assert.equal((await api.call('GET', '/api/me')).body.user.emailVerified, false);
    const sent = await mail('vera@example.com', 'email-verification');
    assert.ok(sent !== undefined, 'the verification mail is in the outbox');
    assert.equal(sent!.message.to, 'vera@example.com');
    assert.ok(sent!.message.body.startsWith('Hello,'));
    assert.ok(sent!.message.body.includes(`${base}/#verify=`), 'the link points at the terminal');

    assert.equal((await anonymous().call('POST', '/api/verify-email', {})).body.error.field, 'token');
    assert.equal((await anonymous().call('POST', '/api/verify-email', { token: 'x'.repeat(43) })).body.error.code, 'BROKER_TOKEN_INVALID');
    const verified = await anonymous().call('POST', '/api/verify-email', { token: sent!.token });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal((await api.call('GET', '/api/me')).body.user.emailVerified, true);
    const again = await anonymous().call('POST', '/api/verify-email', { token: sent!.token });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'BROKER_TOKEN_INVALID', 'a used token');
    assert.deepEqual((await api.call('POST', '/api/verify-email/resend')).body, { sent: false, emailVerified: true });
  });

  it('a resend replaces the earlier verification token; a reset token does not verify', async () => {
    const { api } = await newUser(base, 'walt@example.com');
    const first = await mail('walt@example.com', 'email-verification');
    assert.equal((await anonymous().call('POST', '/api/verify-email/resend')).status, 401);
    const resent = await api.call('POST', '/api/verify-email/resend');
    assert.equal(resent.status, 202);
    const second = await mail('walt@example.com', 'email-verification');
    assert.notEqual(second!.token, first!.token);
    assert.equal((await anonymous().call('POST', '/api/verify-email', { token: first!.token })).body.error.code, 'BROKER_TOKEN_INVALID');
    await anonymous().call('POST', '/api/password-reset', { email: 'walt@example.com' });
    const reset = await mail('walt@example.com', 'password-reset');
    assert.equal((await anonymous().call('POST', '/api/verify-email', { token: reset!.token })).body.error.code, 'BROKER_TOKEN_INVALID', 'tokens are per purpose');
    assert.equal((await anonymous().call('POST', '/api/verify-email', { token: second!.token })).status, 200);
  });

  it('the outbox is back office only', async () => {
    const { api } = await newUser(base, 'xena@example.com');
    assert.equal((await api.call('GET', '/api/admin/outbox')).status, 403, 'a customer session is not the admin token');
    assert.equal((await anonymous().call('GET', '/api/admin/outbox')).body.error.code, 'BROKER_FORBIDDEN');
    const all = (await admin().call('GET', '/api/admin/outbox?limit=100')).body.messages;
    assert.ok(all.length >= 3);
    assert.ok(all.every((m: any, i: number) => i === 0 || all[i - 1].id > m.id), 'newest first');
  });

  it('the admin CLI reads the outbox', async () => {
    const cli = path.join(__dirname, '..', 'bin', 'exchange-admin.js');
    const run = (token: string) => promisify(execFile)(process.execPath, [cli, '--broker', base, '--token', token, 'broker-outbox', '--email', 'vera@example.com', '--limit', '5'])
      .then((r) => ({ code: 0, stdout: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }));
    const answer = await run(exchange.config.adminToken);
    assert.equal(answer.code, 0);
    const messages = JSON.parse(answer.stdout).messages;
    assert.ok(messages.length >= 1);
    assert.ok(messages.every((m: any) => m.to === 'vera@example.com'));
    assert.equal(messages[0].kind, 'email-verification');
    const refused = await run('not-the-admin-token');
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.stdout).error.code, 'BROKER_FORBIDDEN');
  });

  it('password reset: a new password, every session ended, the token single use', async () => {
    const { api: first } = await newUser(base, 'yuri@example.com');
    const second = new Api(base);
    second.token = (await login('yuri@example.com', 'yuri@example.com long password')).body.token;
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${first.token}` } });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const unknown = await anonymous().call('POST', '/api/password-reset', { email: 'nobody@example.com' });
    const known = await anonymous().call('POST', '/api/password-reset', { email: 'Yuri@Example.com' });
    assert.equal(unknown.status, 202);
    assert.deepEqual(unknown.body, known.body, 'the answer does not tell who has an account');
    assert.equal(await mail('nobody@example.com', 'password-reset'), undefined);
    assert.equal((await anonymous().call('POST', '/api/password-reset', { email: 'not-an-email' })).body.error.field, 'email');
    const sent = await mail('yuri@example.com', 'password-reset');
    assert.ok(sent !== undefined);

    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token: sent!.token, password: 'short' })).body.error.field, 'password');
    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token: 'y'.repeat(43), password: 'a brand new password' })).body.error.code, 'BROKER_TOKEN_INVALID');
    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { password: 'a brand new password' })).body.error.field, 'token');
    const reset = await anonymous().call('POST', '/api/password-reset/confirm', { token: sent!.token, password: 'a brand new password' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));

    assert.equal((await first.call('GET', '/api/me')).body.error.code, 'BROKER_UNAUTHENTICATED', 'session 1 ended');
    assert.equal((await second.call('GET', '/api/me')).body.error.code, 'BROKER_UNAUTHENTICATED', 'session 2 ended');
    assert.equal(await closed, 4001, 'the live socket is closed');
    assert.equal((await login('yuri@example.com', 'yuri@example.com long password')).body.error.code, 'BROKER_INVALID_CREDENTIALS', 'the old password is gone');
    const fresh = await login('yuri@example.com', 'a brand new password');
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.user.emailVerified, true, 'the reset mail proved the address');
    const reused = await anonymous().call('POST', '/api/password-reset/confirm', { token: sent!.token, password: 'yet another password' });
    assert.equal(reused.body.error.code, 'BROKER_TOKEN_INVALID', 'a used token');
    assert.equal((await login('yuri@example.com', 'a brand new password')).status, 200, 'the reuse changed nothing');
  });

  it('a token resets only its own user, expires, and a newer request replaces it', async () => {
    await newUser(base, 'zane@example.com');
    await newUser(base, 'zoe@example.com');
    await anonymous().call('POST', '/api/password-reset', { email: 'zane@example.com' });
    const older = await mail('zane@example.com', 'password-reset');
    await anonymous().call('POST', '/api/password-reset', { email: 'zane@example.com' });
    const newer = await mail('zane@example.com', 'password-reset');
    assert.notEqual(older!.token, newer!.token);
    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token: older!.token, password: 'zanes new password' })).body.error.code, 'BROKER_TOKEN_INVALID');
    assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token: newer!.token, password: 'zanes new password' })).status, 200);
    assert.equal((await login('zoe@example.com', 'zoe@example.com long password')).status, 200, 'Zoe is untouched by Zane\'s token');
    assert.equal((await login('zoe@example.com', 'zanes new password')).status, 401);

    const broker = brokerOf(exchange);
    const saved = broker.options.resetTokenTtlMs;
    broker.options.resetTokenTtlMs = 50;
    try {
      await anonymous().call('POST', '/api/password-reset', { email: 'zoe@example.com' });
      const expiring = await mail('zoe@example.com', 'password-reset');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await anonymous().call('POST', '/api/password-reset/confirm', { token: expiring!.token, password: 'zoes new password!' })).body.error.code, 'BROKER_TOKEN_INVALID', 'expired');
      assert.equal((await login('zoe@example.com', 'zoe@example.com long password')).status, 200);
    } finally {
      broker.options.resetTokenTtlMs = saved;
    }
  });

  it('mails are rate-limited per address (also for addresses without an account)', async () => {
    for (const email of ['zoe@example.com', 'ghost@example.com']) {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await anonymous().call('POST', '/api/password-reset', { email }));
      // zoe@ asked twice in the previous test: 3 per 15 minutes.
      const limited = answers.filter((a) => a.status === 429);
      assert.ok(limited.length >= 1, email);
      assert.equal(limited[0].body.error.code, 'BROKER_MAIL_RATE_LIMITED');
      assert.ok(Number(limited[0].headers.get('retry-after')) > 0);
    }
    const { api } = await newUser(base, 'quinn@example.com');
    const resends = [];
    for (let i = 0; i < 4; i++) resends.push((await api.call('POST', '/api/verify-email/resend')).status);
    assert.deepEqual(resends, [202, 202, 202, 429]);
  });

  it('wrong tokens count as failed logins of the IP', async () => {
    const patient = anonymous();
    let answer;
    for (let i = 0; i < 25; i++) {
      answer = await patient.call('POST', '/api/password-reset/confirm', { token: `wrong-token-${String(i).padStart(20, '0')}`, password: 'whatever password' });
      if (answer.status === 429) break;
    }
    assert.equal(answer!.status, 429);
    assert.equal(answer!.body.error.code, 'BROKER_LOGIN_RATE_LIMITED');
    assert.equal((await patient.call('POST', '/api/verify-email', { token: 'z'.repeat(43) })).body.error.code, 'BROKER_LOGIN_RATE_LIMITED');
  });
});
