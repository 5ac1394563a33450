/** Helpers for tests that drive the broker's HTTP API (docs/broker-api.md). */
import net from 'node:net';

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
  constructor(readonly base: string, readonly admin?: string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
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

