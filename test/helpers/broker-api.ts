/** Helpers for tests that drive the broker's HTTP API (docs/broker-api.md). */
import net from 'node:net';
import { Broker } from '../../gateway/broker/broker';
import { startTestExchange, TestExchange } from './test-exchange';
import type { ExchangeConfig } from '../../core/runtime/config';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

interface Answer { status: number; body: any; headers: Headers }

export class Api {
  token?: string;
  /** Wait and retry when the broker answers 429 BROKER_THROTTLED (tests that send many order-class requests). */
  patient = false;
  constructor(readonly base: string, readonly admin?: string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    for (;;) {
      const answer = await this.once(method, path, body, headers);
      if (!this.patient || answer.status !== 429 || answer.body?.error?.code !== 'BROKER_THROTTLED') return answer;
      await new Promise((resolve) => setTimeout(resolve, answer.body.error.retryAfterMs));
    }
  }

  private async once(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    if (this.token !== undefined) h.authorization = `Bearer ${this.token}`;
    if (this.admin !== undefined) h.authorization = `Bearer ${this.admin}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, headers: res.headers };
  }
}

/** Retries while the broker's exchange sessions are still logging on (503). */
export async function whenConnected(fn: () => Promise<Answer>): Promise<Answer> {
  for (let i = 0; i < 50; i++) {
    const answer = await fn();
    if (answer.status !== 503) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return fn();
}

export async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // well under the per-user request throttle
  }
}


/** The exchange's broker service (to read or tune its options in a test). */
export function brokerOf(exchange: TestExchange): Broker {
  const services = (exchange.supervisor as unknown as { services: unknown[] }).services;
  const broker = services.find((s): s is Broker => s instanceof Broker);
  if (broker === undefined) throw new Error('the exchange runs no broker (brokerPort 0)');
  return broker;
}

/** Signs up and logs in; with `approve`, also submits KYC and has the back office approve it. */
export async function newUser(base: string, email: string, options: { approve?: boolean; adminToken?: string; accountType?: 'cash' | 'margin' } = {}): Promise<{ api: Api; account: number | null; userId: number }> {
  const password = `${email} long password`;
  const anonymous = new Api(base);
  anonymous.patient = true;
  const signup = await anonymous.call('POST', '/api/signup', { email, password });
  if (signup.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(signup.body)}`);
  const api = new Api(base);
  api.token = (await anonymous.call('POST', '/api/login', { email, password })).body.token;
  if (!options.approve) return { api, account: null, userId: signup.body.user.id };
  const kyc = await api.call('POST', '/api/kyc', { name: 'Test Person', dateOfBirth: '1980-02-02', address: '2 Side St, Springfield', documentReference: 'P-123456', ...(options.accountType === undefined ? {} : { accountType: options.accountType }) });
  const approved = await whenConnected(() => new Api(base, options.adminToken).call('POST', `/api/admin/kyc/${kyc.body.kyc.id}/approve`));
  if (approved.status !== 200) throw new Error(`approval failed: ${JSON.stringify(approved.body)}`);
  return { api, account: approved.body.kyc.account, userId: signup.body.user.id };
}

/** A test exchange with its broker on a free port, and the broker's base URL. */
export async function startBrokerExchange(overrides: Partial<ExchangeConfig> = {}): Promise<{ exchange: TestExchange; base: string }> {
  const brokerPort = await freePort();
  const exchange = await startTestExchange({ brokerPort, ...overrides });
  return { exchange, base: `http://127.0.0.1:${brokerPort}` };
}
