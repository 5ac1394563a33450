/**
 * The broker's HTTP JSON API, its live WebSocket (/ws) and the static web terminal
 * (gateway/web/static) — docs/broker-api.md. Every customer endpoint authenticates
 * the session (HttpOnly cookie or bearer token) and reads only the caller's rows;
 * back-office endpoints need the exchange's admin token.
 */
import { DEFAULT_INITIAL_BPS } from '../../core/margin';
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { Broker } from './broker';
import { BrokerError, orderView, withdrawalView } from './broker';
import { intervalName } from '../market-data/candles';
import { Buckets, FailureLimiter, hashPassword, newToken, tokenHash, verifyPassword } from './security';
import type { OrderFilter, UserRow } from './store';
import type { CandleView } from './chart-candles';
import { checkCode, checkPassword, checkToken, Credentials } from './credentials';

interface Subscription {
  prices: Set<number>;
  depth: Set<number>;
  /** One candle series (instrument, interval) or none. */
  candles: { instrument: number; intervalMicros: number } | null;
}

const COOKIE = 'broker_session';
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{2,}$/;
/** Order statuses a history filter may name ('open': any live one). */
const ORDER_STATUSES = ['open', 'pending', 'partially_filled', 'stop_pending', 'filled', 'canceled', 'expired', 'rejected'];

const STATIC_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const MAX_WATCHLISTS = 20;
const MAX_SYMBOLS = 100;
const MAX_ALERTS = 50;
const MAX_WS_BUFFERED = 1 << 20;
/** Candles sent on a WebSocket candle subscription (and the default of GET /api/candles). */
const CANDLES_ON_SUBSCRIBE = 300;

interface Context {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  ip: string;
  params: string[];
  body: Record<string, unknown>;
  query: URLSearchParams;
  user?: UserRow;
}

type Handler = (c: Context) => Promise<unknown> | unknown;
interface Route { method: string; pattern: RegExp; auth: 'user' | 'admin' | 'none'; handler: Handler; order?: boolean }

/**
 * Production builds of browser libraries, served from their npm packages (installed by
 * `npm ci` like every dependency; nothing is copied into the repository).
 */
const VENDOR_FILES: Record<string, string> = {
  // The package's exports map names only its ES modules; the standalone build sits beside package.json.
  'vendor/lightweight-charts.js': path.join(path.dirname(require.resolve('lightweight-charts/package.json')), 'dist', 'lightweight-charts.standalone.production.js'),
};

function staticDirectory(): string {
  const candidates = [path.join(__dirname, '..', 'web', 'static'), path.resolve(__dirname, '..', '..', '..', 'gateway', 'web', 'static')];
  return candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? candidates[0];
}

function fail(status: number, code: string, message: string, details: Record<string, unknown> = {}): never {
  throw new BrokerError(status, code, message, details);
}

function text(body: Record<string, unknown>, name: string, min: number, max: number): string {
  const value = body[name];
  if (typeof value !== 'string') fail(400, 'BROKER_VALIDATION', `${name} is required (a string)`, { field: name });
  const trimmed = value.trim();
  if (trimmed.length < min || trimmed.length > max) fail(400, 'BROKER_VALIDATION', `${name} must be ${min}-${max} characters`, { field: name });
  return trimmed;
}

function id(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) fail(404, 'BROKER_NOT_FOUND', 'no such resource');
  return n;
}

/** Prefix, word-prefix, substring and fuzzy (subsequence / edit distance) search over symbols and company names. */
export function searchInstruments<T extends { symbol: string; name: string }>(instruments: readonly T[], query: string, limit = 10): T[] {
  const q = query.trim().toUpperCase();
  if (q.length === 0) return instruments.slice(0, limit);
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const subsequence = (needle: string, hay: string) => {
    let k = 0;
    for (const ch of hay) if (ch === needle[k]) k++;
    return k === needle.length;
  };
  const scored: Array<[number, T]> = [];
  for (const i of instruments) {
    const symbol = i.symbol.toUpperCase();
    const name = i.name.toUpperCase();
    let score = -1;
    if (symbol === q) score = 0;
    else if (symbol.startsWith(q)) score = 1;
    else if (name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q))) score = 2;
    else if (symbol.includes(q) || name.includes(q)) score = 3;
    else if (distance(q, symbol) <= Math.max(1, Math.floor(q.length / 3))) score = 4;
    else if (q.length >= 3 && (subsequence(q, symbol) || subsequence(q, name.replace(/\s+/g, '')))) score = 5;
    else if (q.length >= 4 && name.split(/\s+/).some((w) => distance(q, w.slice(0, q.length + 1)) <= 1)) score = 6;
    if (score >= 0) scored.push([score, i]);
  }
  return scored.sort((a, b) => a[0] - b[0] || a[1].symbol.localeCompare(b[1].symbol)).slice(0, limit).map(([, i]) => i);
}

export class BrokerHttp {
  private readonly server: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  private readonly routes: Route[] = [];
  private readonly emailFailures: FailureLimiter;
  private readonly ipFailures: FailureLimiter;
  private readonly userRequests: Buckets;
  private readonly userOrders: Buckets;
  private readonly ipRequests = new Buckets(10, 30);
  private readonly sockets = new Map<number, Set<WebSocket>>();
  private readonly subscriptions = new WeakMap<WebSocket, Subscription>();
  private readonly dirtyPrices = new Set<number>();
  private readonly dirtyDepth = new Set<number>();
  private flushTimer?: NodeJS.Timeout;
  /** The session (token hash) each live socket authenticated with: logout closes only that session's sockets. */
  private readonly socketSessions = new WeakMap<WebSocket, string>();
  private readonly staticDir = staticDirectory();
  private readonly credentials: Credentials;

  constructor(private readonly broker: Broker) {
    const o = broker.options;
    this.emailFailures = new FailureLimiter(o.loginFailuresPerEmail, o.loginWindowMs);
    this.ipFailures = new FailureLimiter(o.loginFailuresPerIp, o.loginWindowMs);
    this.userRequests = new Buckets(o.requestsPerSecond, o.requestBurst);
    this.userOrders = new Buckets(o.ordersPerSecond, o.orderBurst);
    this.credentials = new Credentials(broker);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as import('node:net').Socket, head));
    broker.push = (userId, message) => this.send(userId, message);
    broker.onPrice = (instrument) => this.dirtyPrices.add(instrument);
    broker.onDepth = (instrument) => this.dirtyDepth.add(instrument);
    this.defineRoutes();
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.flushTimer = setInterval(() => this.flushMarket(), 250);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    for (const set of this.sockets.values()) for (const ws of set) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  sweep(): void {
    const now = Date.now();
    this.emailFailures.sweep(now);
    this.ipFailures.sweep(now);
    this.userRequests.sweep(now);
    this.userOrders.sweep(now);
    this.ipRequests.sweep(now);
    this.broker.store?.deleteExpiredSessions(now);
    this.credentials.sweep(now);
  }

  /**
   * Runs a TOTP check: a wrong code counts as a failed login of the user's address and
   * of the IP (the login limits), and either over its limit is refused first.
   */
  private withCode<T>(c: Context, user: UserRow, check: () => T): T {
    const now = Date.now();
    const blocked = Math.max(this.emailFailures.blockedFor(user.email, now), this.ipFailures.blockedFor(c.ip, now));
    if (blocked > 0) fail(429, 'BROKER_LOGIN_RATE_LIMITED', 'too many failed attempts; try again later', { retryAfterMs: blocked });
    try {
      return check();
    } catch (error) {
      if (error instanceof BrokerError && error.code === 'BROKER_2FA_INVALID') {
        this.emailFailures.fail(user.email, now);
        this.ipFailures.fail(c.ip, now);
      }
      throw error;
    }
  }

  /** Closes every live socket of a user (their sessions ended), or only those of one session (logout). */
  private disconnect(userId: number, sessionTokenHash?: string): void {
    for (const ws of this.sockets.get(userId) ?? []) {
      if (sessionTokenHash === undefined || this.socketSessions.get(ws) === sessionTokenHash) ws.close(4001, 'session ended');
    }
  }

  /**
   * Runs a token check (reset, verification): wrong tokens count as failed logins of
   * the IP, and an IP over that limit is refused before its token is looked at.
   */
  private async withToken<T>(c: Context, check: () => Promise<T> | T): Promise<T> {
    const now = Date.now();
    const blocked = this.ipFailures.blockedFor(c.ip, now);
    if (blocked > 0) fail(429, 'BROKER_LOGIN_RATE_LIMITED', 'too many failed attempts; try again later', { retryAfterMs: blocked });
    try {
      return await check();
    } catch (error) {
      if (error instanceof BrokerError && error.code === 'BROKER_TOKEN_INVALID') this.ipFailures.fail(c.ip, now);
      throw error;
    }
  }

  // ------------------------------------------------------------ plumbing

  private route(method: string, pattern: string, auth: Route['auth'], handler: Handler, order = false): void {
    this.routes.push({ method, pattern: new RegExp(`^${pattern}$`), auth, handler, order });
  }

  private json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload), 'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff', ...headers,
    });
    res.end(payload);
  }

  private error(res: http.ServerResponse, error: BrokerError, headers: Record<string, string> = {}): void {
    this.json(res, error.status, { error: { code: error.code, message: error.message, ...error.details } }, headers);
  }

  private readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const max = this.broker.options.maxBodyBytes;
    return new Promise((resolve, reject) => {
      if (Number(req.headers['content-length'] ?? 0) > max) {
        reject(new BrokerError(413, 'BROKER_PAYLOAD_TOO_LARGE', `request bodies are limited to ${max} bytes`));
        req.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max && !failed) {
          failed = true;
          reject(new BrokerError(413, 'BROKER_PAYLOAD_TOO_LARGE', `request bodies are limited to ${max} bytes`));
        }
        if (!failed) chunks.push(chunk);
      });
      req.on('error', reject);
      req.on('end', () => {
        if (failed) return;
        if (size === 0) return resolve({});
        const type = String(req.headers['content-type'] ?? '');
        if (!type.startsWith('application/json')) return reject(new BrokerError(415, 'BROKER_UNSUPPORTED_MEDIA_TYPE', 'send JSON with Content-Type: application/json'));
        try {
          const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
          resolve(parsed as Record<string, unknown>);
        } catch {
          reject(new BrokerError(400, 'BROKER_BAD_JSON', 'the body is not a JSON object'));
        }
      });
    });
  }

  private token(req: http.IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (auth !== undefined && auth.startsWith('Bearer ')) return auth.slice(7).trim();
    const cookie = req.headers.cookie;
    if (cookie === undefined) return undefined;
    for (const part of cookie.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name === COOKIE) return rest.join('=');
    }
    return undefined;
  }

  private authenticate(req: http.IncomingMessage): UserRow | undefined {
    const token = this.token(req);
    if (token === undefined || token.length > 200) return undefined;
    const store = this.broker.store!;
    const session = store.session(tokenHash(token));
    if (session === undefined || session.expires_at <= Date.now()) return undefined;
    return store.user(session.user_id);
  }

  private isAdmin(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '');
    const expected = Buffer.from(this.broker.config.adminToken);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://broker');
    const ip = req.socket.remoteAddress ?? '?';
    try {
      if (!url.pathname.startsWith('/api/')) return this.serveStatic(req, res, url.pathname);
      const candidates = this.routes.filter((r) => r.pattern.test(url.pathname));
      if (candidates.length === 0) fail(404, 'BROKER_NOT_FOUND', `no endpoint ${url.pathname}`);
      const route = candidates.find((r) => r.method === req.method);
      if (route === undefined) fail(405, 'BROKER_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`, { allowed: candidates.map((r) => r.method) });
      const now = Date.now();
      const c: Context = { req, res, ip, params: route.pattern.exec(url.pathname)!.slice(1), body: {}, query: url.searchParams };
      if (route.auth === 'user') {
        c.user = this.authenticate(req);
        if (c.user === undefined) fail(401, 'BROKER_UNAUTHENTICATED', 'log in first (session missing or expired)');
        const wait = this.userRequests.take(`u${c.user.id}`, now) || (route.order ? this.userOrders.take(`u${c.user.id}`, now) : 0);
        if (wait > 0) fail(429, 'BROKER_THROTTLED', 'too many requests; slow down', { retryAfterMs: wait });
      } else if (route.auth === 'admin') {
        if (!this.isAdmin(req)) fail(403, 'BROKER_FORBIDDEN', 'the back-office endpoints need the admin token (Authorization: Bearer ...)');
      } else {
        const wait = this.ipRequests.take(ip, now);
        if (wait > 0) fail(429, 'BROKER_THROTTLED', 'too many requests; slow down', { retryAfterMs: wait });
      }
      if (req.method !== 'GET' && req.method !== 'DELETE') c.body = await this.readBody(req);
      else req.resume();
      const result = await route.handler(c);
      if (!res.headersSent) {
        const r = result as { status?: number; body?: unknown; headers?: Record<string, string | string[]> } | undefined;
        if (r !== undefined && r !== null && typeof r === 'object' && 'body' in r) this.json(res, r.status ?? 200, r.body, r.headers);
        else this.json(res, 200, result ?? { ok: true });
      }
    } catch (error) {
      if (res.headersSent) return;
      if (error instanceof BrokerError) {
        const retry: Record<string, string> = typeof error.details.retryAfterMs === 'number' ? { 'Retry-After': String(Math.ceil(error.details.retryAfterMs / 1000)) } : {};
        this.error(res, error, retry);
      } else {
        this.broker.log.error({ err: error }, 'broker: internal error');
        this.error(res, new BrokerError(500, 'BROKER_INTERNAL', 'internal error'));
      }
    }
  }

  private serveStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') fail(405, 'BROKER_METHOD_NOT_ALLOWED', 'static files are GET only');
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    const vendored = VENDOR_FILES[name];
    if (vendored === undefined && !/^[a-z0-9-]+\.(html|js|css|svg)$/.test(name)) fail(404, 'BROKER_NOT_FOUND', 'no such file');
    const file = vendored ?? path.join(this.staticDir, name);
    if (!existsSync(file)) fail(404, 'BROKER_NOT_FOUND', 'no such file');
    const content = readFileSync(file);
    res.writeHead(200, {
      'Content-Type': STATIC_TYPES[path.extname(name)], 'Content-Length': content.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY',
    });
    res.end(req.method === 'HEAD' ? undefined : content);
  }

  // ------------------------------------------------------------ live WebSocket

  private upgrade(req: http.IncomingMessage, socket: import('node:net').Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://broker');
    const user = url.pathname === '/ws' ? this.authenticate(req) : undefined;
    if (user === undefined) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const existing = this.sockets.get(user.id);
    if (existing !== undefined && existing.size >= 5) {
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const set = this.sockets.get(user.id) ?? new Set<WebSocket>();
      set.add(ws);
      this.sockets.set(user.id, set);
      this.socketSessions.set(ws, tokenHash(this.token(req)!));
      this.subscriptions.set(ws, { prices: new Set(), depth: new Set(), candles: null });
      const messages = new Buckets(20, 40);
      ws.on('message', (data, isBinary) => {
        if (isBinary || messages.take('m', Date.now()) > 0) return;
        this.onSocketMessage(ws, data.toString());
      });
      ws.on('close', () => {
        set.delete(ws);
        if (set.size === 0) this.sockets.delete(user.id);
      });
      ws.on('error', () => ws.terminate());
      ws.send(JSON.stringify({ type: 'hello', userId: user.id }));
    });
  }

  private onSocketMessage(ws: WebSocket, raw: string): void {
    let message: { op?: unknown; symbols?: unknown; symbol?: unknown; interval?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return void ws.send(JSON.stringify({ type: 'error', code: 'BROKER_BAD_JSON', message: 'messages are JSON objects' }));
    }
    const subscription = this.subscriptions.get(ws)!;
    try {
      if (message.op === 'prices' && Array.isArray(message.symbols) && message.symbols.length <= MAX_SYMBOLS) {
        subscription.prices = new Set(message.symbols.map((s) => this.broker.instrument(s).id));
        for (const instrument of subscription.prices) this.sendPrice(ws, instrument);
      } else if (message.op === 'depth') {
        subscription.depth = new Set(message.symbol === null ? [] : [this.broker.instrument(message.symbol).id]);
        for (const instrument of subscription.depth) this.sendDepth(ws, instrument);
      } else if (message.op === 'candles') {
        subscription.candles = message.symbol === null ? null : this.candleSeries(message.symbol, message.interval);
        if (subscription.candles !== null) {
          const { instrument, intervalMicros } = subscription.candles;
          this.sendCandles(ws, instrument, intervalMicros, this.broker.candles!.history(instrument, intervalMicros, CANDLES_ON_SUBSCRIBE), true);
        }
      } else {
        ws.send(JSON.stringify({ type: 'error', code: 'BROKER_VALIDATION', message: 'ops: {op:"prices",symbols:[...]}, {op:"depth",symbol}, {op:"candles",symbol,interval}' }));
      }
    } catch (error) {
      if (error instanceof BrokerError) ws.send(JSON.stringify({ type: 'error', code: error.code, message: error.message }));
    }
  }

  private write(ws: WebSocket, message: unknown): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_WS_BUFFERED) return ws.terminate();
    ws.send(JSON.stringify(message));
  }

  private send(userId: number, message: Record<string, unknown>): void {
    const set = this.sockets.get(userId);
    if (set !== undefined) for (const ws of set) this.write(ws, message);
  }

  private sendPrice(ws: WebSocket, instrument: number): void {
    const i = this.broker.instrumentById(instrument)!;
    this.write(ws, { type: 'price', symbol: i.symbol, last: this.broker.lastPrice.get(instrument) ?? null });
  }

  private sendDepth(ws: WebSocket, instrument: number): void {
    const i = this.broker.instrumentById(instrument)!;
    this.write(ws, { type: 'depth', symbol: i.symbol, ...(this.broker.depth.get(instrument) ?? { bids: [], asks: [] }) });
  }

  /** The candle series of a symbol and interval name, or a BROKER_UNKNOWN_SYMBOL / BROKER_VALIDATION error. */
  private candleSeries(symbol: unknown, interval: unknown): { instrument: number; intervalMicros: number } {
    const instrument = this.broker.instrument(symbol).id;
    const intervalMicros = this.broker.candles!.interval(interval);
    if (intervalMicros === undefined) fail(400, 'BROKER_VALIDATION', `interval must be one of ${this.broker.candles!.intervalNames.join(', ')}`, { field: 'interval' });
    return { instrument, intervalMicros };
  }

  private sendCandles(ws: WebSocket, instrument: number, intervalMicros: number, candles: CandleView[], snapshot: boolean): void {
    const i = this.broker.instrumentById(instrument)!;
    this.write(ws, { type: 'candles', symbol: i.symbol, interval: intervalName(intervalMicros), snapshot, candles });
  }

  private flushMarket(): void {
    const candles = this.broker.candles?.takeUpdates() ?? [];
    if (this.dirtyPrices.size === 0 && this.dirtyDepth.size === 0 && candles.length === 0) return;
    for (const set of this.sockets.values()) {
      for (const ws of set) {
        const subscription = this.subscriptions.get(ws);
        if (subscription === undefined) continue;
        for (const instrument of this.dirtyPrices) if (subscription.prices.has(instrument)) this.sendPrice(ws, instrument);
        for (const instrument of this.dirtyDepth) if (subscription.depth.has(instrument)) this.sendDepth(ws, instrument);
        const series = subscription.candles;
        if (series === null) continue;
        for (const u of candles) {
          if (u.instrument === series.instrument && u.intervalMicros === series.intervalMicros) this.sendCandles(ws, u.instrument, u.intervalMicros, u.candles, false);
        }
      }
    }
    this.dirtyPrices.clear();
    this.dirtyDepth.clear();
  }

  // ------------------------------------------------------------ endpoints

  private userView(u: UserRow): Record<string, unknown> {
    return {
      id: u.id, email: u.email, emailVerified: u.email_verified_at !== null, twoFactor: u.totp_enabled === 1, kycStatus: u.kyc_status, account: u.account, accountStatus: u.account_status,
      createdAt: u.created_at,
    };
  }

  private tradingAccount(u: UserRow): number {
    if (u.account === null || u.account_status !== 'active') fail(403, 'BROKER_KYC_REQUIRED', 'trading needs an approved account (submit KYC and wait for approval)', { kycStatus: u.kyc_status });
    return u.account;
  }

  private portfolio(u: UserRow): Record<string, unknown> {
    const store = this.broker.store!;
    if (u.account === null) return { account: null, accountType: null, cash: 0, settledCash: 0, unsettledCash: 0, reserved: 0, available: 0, buyingPower: 0, withdrawable: 0, positions: [], marketValue: 0, equity: 0, unrealizedPnl: 0, realizedPnl: 0 };
    const cash = store.cash(u.account);
    const unsettled = store.unsettledProceeds(u.account);
    let marketValue = 0;
    let unrealized = 0;
    let realized = 0;
    let initialRequirement = 0;
    const positions = store.positions(u.account).filter((p) => p.quantity !== 0 || p.realized_pnl !== 0).map((p) => {
      const instrument = this.broker.instrumentById(p.instrument);
      const last = this.broker.lastPrice.get(p.instrument) ?? 0;
      const value = p.quantity * last;
      const pnl = value - p.cost_basis;
      initialRequirement += Math.ceil((Math.abs(p.quantity) * last * store.initialMargin(p.instrument, DEFAULT_INITIAL_BPS)) / 10_000);
      marketValue += value;
      unrealized += pnl;
      realized += p.realized_pnl;
      return {
        symbol: instrument?.symbol ?? String(p.instrument), name: instrument?.name ?? '', quantity: p.quantity, costBasis: p.cost_basis,
        averagePrice: p.quantity !== 0 ? Math.round((p.cost_basis / p.quantity) * 100) / 100 : null, lastPrice: last, marketValue: value,
        unrealizedPnl: pnl, realizedPnl: p.realized_pnl,
      };
    });
    // As the core decides them (core/risk-engine.ts buyingPower / withdrawable): a cash account commits and
    // withdraws settled, unheld cash; a margin account commits its equity above the initial requirement.
    const margin = store.kycOf(u.id)?.account_type === 'margin';
    const settledFree = cash.balance - unsettled - cash.reserved;
    const buyingPower = margin ? cash.balance + marketValue - initialRequirement - cash.reserved : settledFree;
    return {
      account: u.account, accountType: margin ? 'margin' : 'cash', cash: cash.balance, settledCash: cash.balance - unsettled, unsettledCash: unsettled, reserved: cash.reserved,
      available: cash.balance - cash.reserved, buyingPower, withdrawable: Math.max(0, margin ? Math.min(settledFree, buyingPower) : settledFree), positions, marketValue,
      equity: cash.balance + marketValue, unrealizedPnl: unrealized, realizedPnl: realized,
    };
  }

  /** GET /api/orders filters: status (open = any live status), symbol, side, from / to (ISO dates or epoch ms). */
  private orderFilter(query: URLSearchParams): OrderFilter {
    const filter: OrderFilter = {};
    const status = query.get('status');
    if (status !== null) {
      if (!ORDER_STATUSES.includes(status)) fail(400, 'BROKER_VALIDATION', `status is one of ${ORDER_STATUSES.join(', ')}`, { field: 'status' });
      filter.status = status;
    }
    const symbol = query.get('symbol');
    if (symbol !== null) filter.symbol = this.broker.instrument(symbol).symbol;
    const side = query.get('side');
    if (side !== null) {
      if (side !== 'buy' && side !== 'sell') fail(400, 'BROKER_VALIDATION', 'side is buy or sell', { field: 'side' });
      filter.side = side;
    }
    for (const bound of ['from', 'to'] as const) {
      const value = query.get(bound);
      if (value === null) continue;
      const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (!Number.isSafeInteger(ms)) fail(400, 'BROKER_VALIDATION', `${bound} is an ISO date or epoch milliseconds`, { field: bound });
      filter[bound] = ms;
    }
    return filter;
  }

  private defineRoutes(): void {
    const b = this.broker;
    const store = () => b.store!;
    const limit = (c: Context, fallback: number) => {
      const n = Number(c.query.get('limit') ?? fallback);
      return Number.isInteger(n) && n > 0 ? Math.min(n, 500) : fallback;
    };

    this.route('POST', '/api/signup', 'none', async (c) => {
      const email = text(c.body, 'email', 3, 254).toLowerCase();
      if (!EMAIL.test(email)) fail(400, 'BROKER_VALIDATION', 'email is not an email address', { field: 'email' });
      const password = checkPassword(c.body.password);
      if (store().userByEmail(email) !== undefined) fail(409, 'BROKER_EMAIL_TAKEN', 'an account with this email exists');
      const { hash, salt } = await hashPassword(password);
      if (store().userByEmail(email) !== undefined) fail(409, 'BROKER_EMAIL_TAKEN', 'an account with this email exists');
      const now = Date.now();
      const user = store().createUser(email, hash, salt, now);
      this.credentials.sendVerification(user, now);
      return { status: 201, body: { user: this.userView(user) } };
    });

    // ---- password reset and e-mail verification (tokens by mail: gateway/broker/credentials.ts)
    this.route('POST', '/api/password-reset', 'none', (c) => {
      const email = text(c.body, 'email', 3, 254).toLowerCase();
      if (!EMAIL.test(email)) fail(400, 'BROKER_VALIDATION', 'email is not an email address', { field: 'email' });
      this.credentials.requestPasswordReset(email, c.ip, Date.now());
      return { status: 202, body: { ok: true, message: 'if an account has this address, a reset link is on its way' } };
    });
    this.route('POST', '/api/password-reset/confirm', 'none', (c) => this.withToken(c, async () => {
      const user = await this.credentials.resetPassword(checkToken(c.body.token), c.body.password as string, Date.now());
      this.emailFailures.reset(user.email);
      this.disconnect(user.id);
      return { ok: true };
    }));
    this.route('POST', '/api/verify-email', 'none', (c) => this.withToken(c, () => {
      this.credentials.verifyEmail(checkToken(c.body.token), Date.now());
      return { ok: true, emailVerified: true };
    }));
    this.route('POST', '/api/verify-email/resend', 'user', (c) => {
      const sent = this.credentials.requestVerification(c.user!, c.ip, Date.now());
      return { status: sent ? 202 : 200, body: { sent, emailVerified: !sent } };
    });

    this.route('POST', '/api/login', 'none', async (c) => {
      const email = text(c.body, 'email', 3, 254).toLowerCase();
      const password = typeof c.body.password === 'string' && c.body.password.length <= 128 ? c.body.password : '';
      const now = Date.now();
      const blocked = Math.max(this.emailFailures.blockedFor(email, now), this.ipFailures.blockedFor(c.ip, now));
      if (blocked > 0) fail(429, 'BROKER_LOGIN_RATE_LIMITED', 'too many failed logins; try again later', { retryAfterMs: blocked });
      const user = store().userByEmail(email);
      const ok = user !== undefined ? await verifyPassword(password, user.salt, user.password_hash) : (await hashPassword(password), false);
      if (!ok || user === undefined) {
        this.emailFailures.fail(email, now);
        this.ipFailures.fail(c.ip, now);
        fail(401, 'BROKER_INVALID_CREDENTIALS', 'wrong email or password');
      }
      if (user.totp_enabled === 1) {
        if (c.body.code === undefined || c.body.code === null || c.body.code === '') fail(401, 'BROKER_2FA_REQUIRED', 'enter the code of your authenticator app', { field: 'code' });
        const code = checkCode(c.body.code);
        this.withCode(c, user, () => this.credentials.checkTotp(user, code, now));
      }
      this.emailFailures.reset(email);
      const token = newToken();
      const expiresAt = now + b.options.sessionTtlMs;
      store().createSession(tokenHash(token), user.id, now, expiresAt);
      const cookie = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(b.options.sessionTtlMs / 1000)}`;
      return { status: 200, body: { token, expiresAt, user: this.userView(user) }, headers: { 'Set-Cookie': cookie } };
    });

    this.route('POST', '/api/logout', 'user', (c) => {
      const session = tokenHash(this.token(c.req)!);
      store().deleteSession(session);
      this.disconnect(c.user!.id, session); // that session's live sockets end with it
      return { status: 200, body: { ok: true }, headers: { 'Set-Cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` } };
    });

    this.route('GET', '/api/me', 'user', (c) => ({ user: this.userView(c.user!) }));

    this.route('POST', '/api/kyc', 'user', (c) => {
      const u = c.user!;
      if (u.kyc_status === 'pending' || u.kyc_status === 'approved') fail(409, 'BROKER_KYC_STATE', `KYC is already ${u.kyc_status}`, { kycStatus: u.kyc_status });
      const name = text(c.body, 'name', 2, 100);
      const dateOfBirth = text(c.body, 'dateOfBirth', 10, 10);
      const dob = new Date(`${dateOfBirth}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(dateOfBirth) || Number.isNaN(dob.getTime()) || dob.toISOString().slice(0, 10) !== dateOfBirth) {
        fail(400, 'BROKER_VALIDATION', 'dateOfBirth must be a YYYY-MM-DD date', { field: 'dateOfBirth' });
      }
      const adult = new Date(dob);
      adult.setUTCFullYear(adult.getUTCFullYear() + 18);
      if (adult.getTime() > Date.now() || dob.getUTCFullYear() < 1900) fail(400, 'BROKER_VALIDATION', 'customers must be 18 or older', { field: 'dateOfBirth' });
      const address = text(c.body, 'address', 5, 300);
      const documentReference = text(c.body, 'documentReference', 3, 64);
      if (!/^[A-Za-z0-9-]+$/.test(documentReference)) fail(400, 'BROKER_VALIDATION', 'documentReference is letters, digits and dashes', { field: 'documentReference' });
      const accountType = c.body.accountType ?? 'cash';
      if (accountType !== 'cash' && accountType !== 'margin') fail(400, 'BROKER_VALIDATION', 'accountType is "cash" or "margin"', { field: 'accountType' });
      const kycId = store().submitKyc(u.id, { name, dateOfBirth, address, documentReference, accountType }, Date.now());
      return { status: 202, body: { kyc: { id: kycId, status: 'pending' } } };
    });

    this.route('GET', '/api/kyc', 'user', (c) => {
      const k = store().kycOf(c.user!.id);
      return { kyc: k === undefined ? { status: 'none' } : { id: k.id, status: k.status, name: k.name, accountType: k.account_type, submittedAt: k.submitted_at, reviewedAt: k.reviewed_at, note: k.review_note } };
    });

    this.route('GET', '/api/instruments', 'user', (c) => {
      const q = (c.query.get('q') ?? '').slice(0, 40);
      return { instruments: searchInstruments(b.instruments, q).map((i) => ({ symbol: i.symbol, name: i.name, tickSize: i.tickSize, lotSize: i.lotSize, last: b.lastPrice.get(i.id) ?? null })) };
    });

    this.route('GET', '/api/instruments/([A-Za-z0-9._-]{1,14})', 'user', (c) => {
      const i = b.instrument(c.params[0]);
      const depth = b.depth.get(i.id);
      // Today's session so far (UTC), from the hourly candles: open, high, low, last, volume.
      const dayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const hours = b.candles!.history(i.id, 3_600_000_000, 24).filter((h) => h.time >= dayStart);
      const today = hours.length === 0 ? null : {
        open: hours[0]!.open, high: Math.max(...hours.map((h) => h.high)), low: Math.min(...hours.map((h) => h.low)),
        last: hours[hours.length - 1]!.close, volume: hours.reduce((n, h) => n + h.volume, 0), trades: hours.reduce((n, h) => n + h.trades, 0),
      };
      return {
        instrument: {
          symbol: i.symbol, name: i.name, tickSize: i.tickSize, lotSize: i.lotSize, referencePrice: i.referencePrice, settlementDays: i.settlementDays,
          bandBasisPoints: i.bandBasisPoints, maxOrderQuantity: i.maxOrderQuantity, last: b.lastPrice.get(i.id) ?? null,
          bestBid: depth?.bids[0]?.[0] ?? null, bestAsk: depth?.asks[0]?.[0] ?? null, today,
        },
      };
    });

    this.route('GET', '/api/quotes', 'user', (c) => {
      const symbols = (c.query.get('symbols') ?? '').split(',').filter((s) => s.length > 0).slice(0, MAX_SYMBOLS);
      return { quotes: symbols.map((s) => { const i = b.instrument(s); return { symbol: i.symbol, last: b.lastPrice.get(i.id) ?? null }; }) };
    });

    this.route('GET', '/api/candles/([A-Za-z0-9._-]{1,14})', 'user', (c) => {
      const { instrument, intervalMicros } = this.candleSeries(c.params[0], c.query.get('interval') ?? '1m');
      const count = c.query.has('limit') ? Number(c.query.get('limit')) : CANDLES_ON_SUBSCRIBE;
      if (!Number.isSafeInteger(count) || count < 1 || count > b.options.candlesKept) fail(400, 'BROKER_VALIDATION', `limit must be 1-${b.options.candlesKept}`, { field: 'limit' });
      return { symbol: b.instrumentById(instrument)!.symbol, interval: intervalName(intervalMicros), candles: b.candles!.history(instrument, intervalMicros, count) };
    });

    this.route('GET', '/api/depth/([A-Za-z0-9._-]{1,14})', 'user', (c) => {
      const i = b.instrument(c.params[0]);
      return { symbol: i.symbol, ...(b.depth.get(i.id) ?? { bids: [], asks: [], at: null }) };
    });

    // ---- watchlists
    this.route('GET', '/api/watchlists', 'user', (c) => ({ watchlists: store().watchlists(c.user!.id) }));
    this.route('POST', '/api/watchlists', 'user', (c) => {
      const name = text(c.body, 'name', 1, 50);
      if (store().watchlistCount(c.user!.id) >= MAX_WATCHLISTS) fail(409, 'BROKER_LIMIT', `at most ${MAX_WATCHLISTS} watchlists`);
      const wid = store().createWatchlist(c.user!.id, name, Date.now());
      return { status: 201, body: { watchlist: { id: wid, name, symbols: [] } } };
    });
    this.route('PATCH', '/api/watchlists/(\\d+)', 'user', (c) => {
      const name = text(c.body, 'name', 1, 50);
      if (!store().renameWatchlist(c.user!.id, id(c.params[0]), name)) fail(404, 'BROKER_NOT_FOUND', 'no such watchlist');
      return { watchlist: store().watchlists(c.user!.id).find((w) => w.id === id(c.params[0])) };
    });
    this.route('PUT', '/api/watchlists/(\\d+)/symbols', 'user', (c) => {
      const list = store().ownWatchlist(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such watchlist');
      const current = store().watchlists(c.user!.id).find((w) => w.id === list.id)!.symbols;
      const order = c.body.symbols;
      const same = Array.isArray(order) && order.length === current.length && order.every((s) => typeof s === 'string') &&
        [...order].map((s) => (s as string).toUpperCase()).sort().join() === [...current].sort().join();
      if (!same) fail(400, 'BROKER_VALIDATION', 'symbols must list exactly the watchlist\'s symbols, in the new order', { field: 'symbols' });
      store().reorderSymbols(list.id, (order as string[]).map((s) => s.toUpperCase()));
      return { watchlist: store().watchlists(c.user!.id).find((w) => w.id === list.id) };
    });
    this.route('DELETE', '/api/watchlists/(\\d+)', 'user', (c) => {
      if (!store().deleteWatchlist(c.user!.id, id(c.params[0]))) fail(404, 'BROKER_NOT_FOUND', 'no such watchlist');
      return { ok: true };
    });
    this.route('POST', '/api/watchlists/(\\d+)/symbols', 'user', (c) => {
      const list = store().ownWatchlist(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such watchlist');
      const i = b.instrument(c.body.symbol);
      if (store().symbolCount(list.id) >= MAX_SYMBOLS) fail(409, 'BROKER_LIMIT', `at most ${MAX_SYMBOLS} symbols per watchlist`);
      store().addSymbol(list.id, i.symbol);
      return { status: 201, body: { watchlist: store().watchlists(c.user!.id).find((w) => w.id === list.id) } };
    });
    this.route('DELETE', '/api/watchlists/(\\d+)/symbols/([A-Za-z0-9._-]{1,14})', 'user', (c) => {
      const list = store().ownWatchlist(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such watchlist');
      if (!store().removeSymbol(list.id, c.params[1].toUpperCase())) fail(404, 'BROKER_NOT_FOUND', 'symbol not in this watchlist');
      return { watchlist: store().watchlists(c.user!.id).find((w) => w.id === list.id) };
    });

    // ---- orders
    this.route('GET', '/api/orders', 'user', (c) => ({ orders: store().orders(c.user!.id, this.orderFilter(c.query), limit(c, 100)).map(orderView) }));
    this.route('GET', '/api/orders/(\\d+)', 'user', (c) => ({ order: orderView(store().ownOrder(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such order')) }));
    this.route('POST', '/api/orders', 'user', async (c) => {
      const account = this.tradingAccount(c.user!);
      const { status, order } = await b.placeOrder(c.user!.id, account, c.body);
      return { status, body: { order } };
    }, true);
    this.route('DELETE', '/api/orders/(\\d+)', 'user', async (c) => {
      const order = store().ownOrder(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such order');
      return { order: await b.cancelOrder(order) };
    }, true);
    this.route('PATCH', '/api/orders/(\\d+)', 'user', async (c) => {
      const order = store().ownOrder(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such order');
      return { order: await b.replaceOrder(order, c.body) };
    }, true);
    this.route('GET', '/api/executions', 'user', (c) => ({ executions: store().executions(c.user!.id, limit(c, 100)) }));
    this.route('GET', '/api/portfolio', 'user', (c) => ({ portfolio: this.portfolio(c.user!) }));
    this.route('GET', '/api/performance', 'user', (c) => {
      const account = c.user!.account;
      return { performance: account === null ? { points: [], timeWeightedReturn: null } : b.equity!.performance(account, b.equityOf(account)) };
    });

    // ---- withdrawals (from the caller's own account only: there is no account field)
    this.route('POST', '/api/withdrawals', 'user', async (c) => {
      const u = c.user!;
      if (c.body.account !== undefined) fail(400, 'BROKER_VALIDATION', 'withdrawals always come from your own account: send no account', { field: 'account' });
      const amount = c.body.amount;
      if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0 || amount > 2 ** 50) fail(400, 'BROKER_VALIDATION', 'amount must be a positive integer (minor units)', { field: 'amount' });
      const bankReference = text(c.body, 'bankReference', 4, 64);
      if (!/^[A-Za-z0-9 -]+$/.test(bankReference)) fail(400, 'BROKER_VALIDATION', 'bankReference is letters, digits, spaces and dashes', { field: 'bankReference' });
      const requestId = c.body.requestId;
      if (typeof requestId !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(requestId)) fail(400, 'BROKER_VALIDATION', 'requestId must be 8-64 letters, digits, _ or - (one per withdrawal; a repeat answers the same one)', { field: 'requestId' });
      if (u.account === null) fail(403, 'BROKER_KYC_REQUIRED', 'withdrawals need an approved account', { kycStatus: u.kyc_status });
      const { status, withdrawal } = await b.withdraw(u.id, u.account, amount, bankReference, requestId);
      return { status, body: { withdrawal } };
    }, true);
    this.route('GET', '/api/withdrawals', 'user', (c) => ({ withdrawals: store().withdrawals(c.user!.id, limit(c, 50)).map(withdrawalView) }));
    this.route('GET', '/api/withdrawals/(\\d+)', 'user', (c) => ({ withdrawal: withdrawalView(store().ownWithdrawal(c.user!.id, id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such withdrawal')) }));

    // ---- alerts and notifications
    this.route('GET', '/api/alerts', 'user', (c) => ({ alerts: store().alerts(c.user!.id) }));
    this.route('POST', '/api/alerts', 'user', (c) => {
      const i = b.instrument(c.body.symbol);
      const direction = c.body.direction;
      if (direction !== 'above' && direction !== 'below') fail(400, 'BROKER_VALIDATION', 'direction must be "above" or "below"', { field: 'direction' });
      const price = c.body.price;
      if (typeof price !== 'number' || !Number.isSafeInteger(price) || price <= 0) fail(400, 'BROKER_VALIDATION', 'price must be a positive integer', { field: 'price' });
      if (store().activeAlertCount(c.user!.id) >= MAX_ALERTS) fail(409, 'BROKER_LIMIT', `at most ${MAX_ALERTS} active alerts`);
      const alertId = store().createAlert(c.user!.id, i.symbol, i.id, direction, price, Date.now());
      b.reloadAlerts();
      return { status: 201, body: { alert: { id: alertId, symbol: i.symbol, direction, price, active: 1 } } };
    });
    this.route('DELETE', '/api/alerts/(\\d+)', 'user', (c) => {
      if (!store().deleteAlert(c.user!.id, id(c.params[0]))) fail(404, 'BROKER_NOT_FOUND', 'no such alert');
      b.reloadAlerts();
      return { ok: true };
    });
    this.route('GET', '/api/notifications', 'user', (c) => ({ notifications: store().notifications(c.user!.id, limit(c, 50)) }));
    this.route('POST', '/api/notifications/read', 'user', (c) => {
      const ids = c.body.ids;
      if (ids !== undefined && (!Array.isArray(ids) || ids.length > 500 || !ids.every((n) => Number.isSafeInteger(n)))) fail(400, 'BROKER_VALIDATION', 'ids must be a list of notification ids', { field: 'ids' });
      return { updated: store().markRead(c.user!.id, ids as number[] | undefined) };
    });

    // ---- two-factor authentication (TOTP, RFC 6238)
    this.route('POST', '/api/2fa/enroll', 'user', (c) => ({ status: 201, body: this.credentials.enrollTotp(c.user!) }));
    this.route('POST', '/api/2fa/confirm', 'user', (c) => {
      const code = checkCode(c.body.code);
      this.withCode(c, c.user!, () => this.credentials.confirmTotp(c.user!, code, Date.now()));
      return { twoFactor: true };
    });
    this.route('POST', '/api/2fa/disable', 'user', (c) => {
      const code = checkCode(c.body.code);
      this.withCode(c, c.user!, () => this.credentials.disableTotp(c.user!, code, Date.now()));
      return { twoFactor: false };
    });

    // ---- back office (admin token)
    this.route('GET', '/api/admin/outbox', 'admin', (c) => {
      const email = c.query.get('email');
      return { messages: store().outbox(email === null ? undefined : email.toLowerCase(), limit(c, 20)) };
    });
    this.route('GET', '/api/admin/kyc', 'admin', (c) => ({ kyc: store().kycQueue(c.query.get('status') ?? 'pending') }));
    this.route('POST', '/api/admin/kyc/(\\d+)/approve', 'admin', async (c) => {
      const k = store().kyc(id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such KYC submission');
      if (k.status !== 'pending') fail(409, 'BROKER_KYC_STATE', `KYC submission is ${k.status}`);
      const account = await b.openAccount(k.user_id);
      const now = Date.now();
      store().reviewKyc(k.id, 'approved', typeof c.body.note === 'string' ? c.body.note.slice(0, 300) : '', now);
      store().setKycStatus(k.user_id, 'approved');
      b.notify(k.user_id, 'kyc', `Your account ${account} is approved`, { account }, now);
      return { kyc: { id: k.id, status: 'approved', userId: k.user_id, account } };
    });
    this.route('POST', '/api/admin/kyc/(\\d+)/reject', 'admin', (c) => {
      const k = store().kyc(id(c.params[0])) ?? fail(404, 'BROKER_NOT_FOUND', 'no such KYC submission');
      if (k.status !== 'pending') fail(409, 'BROKER_KYC_STATE', `KYC submission is ${k.status}`);
      const reason = text(c.body, 'reason', 1, 300);
      const now = Date.now();
      store().reviewKyc(k.id, 'rejected', reason, now);
      store().setKycStatus(k.user_id, 'rejected');
      b.notify(k.user_id, 'kyc', `Your KYC submission was rejected: ${reason}`, { reason }, now);
      return { kyc: { id: k.id, status: 'rejected', userId: k.user_id } };
    });
    this.route('POST', '/api/admin/deposits', 'admin', async (c) => {
      const user = typeof c.body.userId === 'number' ? store().user(c.body.userId) : typeof c.body.email === 'string' ? store().userByEmail(c.body.email.toLowerCase()) : undefined;
      if (user === undefined) fail(404, 'BROKER_NOT_FOUND', 'no such user (give userId or email)');
      if (user.account === null) fail(409, 'BROKER_KYC_REQUIRED', 'the user has no account yet (approve KYC first)');
      const amount = c.body.amount;
      if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0 || amount > 2 ** 50) fail(400, 'BROKER_VALIDATION', 'amount must be a positive integer (minor units)', { field: 'amount' });
      return { status: 201, body: { deposit: await b.deposit(user.account, amount) } };
    });
  }
}
