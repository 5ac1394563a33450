/**
 * The broker's read models in SQLite (broker.db in the data directory): users,
 * sessions, KYC, watchlists, alerts, notifications, orders, executions, cash and
 * positions. Order, execution, cash and position rows are fed from the exchange's
 * events (gateway/broker/broker.ts); everything else from the HTTP API. Every query
 * that returns a user's data takes the user id: callers cannot forget the owner.
 */
import { EQUITY_HISTORY_SCHEMA } from './equity-history';
import Database from 'better-sqlite3';

export type KycStatus = 'none' | 'pending' | 'approved' | 'rejected';

export interface UserRow {
  id: number;
  email: string;
  password_hash: string;
  salt: string;
  account: number | null;
  kyc_status: KycStatus;
  account_status: string | null;
  created_at: number;
  /** When the user proved the e-mail address (a verification or reset link), or null. */
  email_verified_at: number | null;
  /** TOTP secret (base32) once enrolled; `totp_enabled` 1 after the first code confirmed it. */
  totp_secret: string | null;
  totp_enabled: number;
  /** Last accepted TOTP time step (a code is accepted once). */
  totp_last_step: number | null;
}

export type EmailTokenPurpose = 'reset' | 'verify';

export interface OrderRow {
  id: number;
  user_id: number;
  account: number;
  instrument: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market' | 'stop' | 'stop_limit';
  time_in_force: string;
  price: number | null;
  stop_price: number | null;
  quantity: number;
  filled: number;
  leaves: number;
  notional: number;
  status: string;
  exchange_order_id: number | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, salt TEXT NOT NULL,
  account INTEGER UNIQUE, kyc_status TEXT NOT NULL DEFAULT 'none', account_status TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kyc (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL, date_of_birth TEXT NOT NULL,
  address TEXT NOT NULL, document_reference TEXT NOT NULL, status TEXT NOT NULL, submitted_at INTEGER NOT NULL,
  reviewed_at INTEGER, review_note TEXT);
CREATE TABLE IF NOT EXISTS watchlists (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS watchlist_symbols (watchlist_id INTEGER NOT NULL REFERENCES watchlists(id) ON DELETE CASCADE, symbol TEXT NOT NULL,
  PRIMARY KEY (watchlist_id, symbol));
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), symbol TEXT NOT NULL, instrument INTEGER NOT NULL,
  direction TEXT NOT NULL, price INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, triggered_at INTEGER);
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), kind TEXT NOT NULL, message TEXT NOT NULL,
  data TEXT NOT NULL, created_at INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS notifications_user ON notifications(user_id, id);
CREATE TABLE IF NOT EXISTS orders (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), account INTEGER NOT NULL, instrument INTEGER NOT NULL,
  symbol TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL, price INTEGER, stop_price INTEGER,
  quantity INTEGER NOT NULL, filled INTEGER NOT NULL DEFAULT 0, leaves INTEGER NOT NULL, notional INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL, exchange_order_id INTEGER, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS orders_exchange ON orders(exchange_order_id);
CREATE TABLE IF NOT EXISTS executions (
  id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), user_id INTEGER NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, price INTEGER NOT NULL, quantity INTEGER NOT NULL, fee INTEGER NOT NULL, liquidity TEXT NOT NULL,
  sequence INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS executions_user ON executions(user_id, id);
CREATE TABLE IF NOT EXISTS cash (account INTEGER PRIMARY KEY, balance INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0);
-- Initial margin per instrument as the core's MarginParametersSet events set it (instrument 0: the default).
CREATE TABLE IF NOT EXISTS margin_parameters (instrument INTEGER PRIMARY KEY, initial_bps INTEGER NOT NULL);
-- Sale proceeds (net of fees) awaiting settlement, per account, instrument and settlement trade date (the core's rule).
CREATE TABLE IF NOT EXISTS unsettled_proceeds (
  account INTEGER NOT NULL, instrument INTEGER NOT NULL, settle_date INTEGER NOT NULL, amount INTEGER NOT NULL,
  PRIMARY KEY (account, instrument, settle_date));
CREATE TABLE IF NOT EXISTS positions (
  account INTEGER NOT NULL, instrument INTEGER NOT NULL, quantity INTEGER NOT NULL, cost_basis INTEGER NOT NULL,
  realized_pnl INTEGER NOT NULL, PRIMARY KEY (account, instrument));
CREATE TABLE IF NOT EXISTS deposits (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS withdrawals (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), account INTEGER NOT NULL, amount INTEGER NOT NULL,
  bank_reference TEXT NOT NULL, request_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, cash_balance INTEGER,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (user_id, request_id));
CREATE INDEX IF NOT EXISTS withdrawals_user ON withdrawals(user_id, id);
CREATE TABLE IF NOT EXISTS email_tokens (
  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), purpose TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE INDEX IF NOT EXISTS email_tokens_user ON email_tokens(user_id, purpose);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, to_email TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_to ON outbox(to_email, id);
CREATE TABLE IF NOT EXISTS candles (
  instrument INTEGER NOT NULL, interval_us INTEGER NOT NULL, start_us INTEGER NOT NULL, open INTEGER NOT NULL, high INTEGER NOT NULL,
  low INTEGER NOT NULL, close INTEGER NOT NULL, volume INTEGER NOT NULL, notional INTEGER NOT NULL, trades INTEGER NOT NULL,
  closed INTEGER NOT NULL, PRIMARY KEY (instrument, interval_us, start_us)) WITHOUT ROWID;
`;

export interface WithdrawalRow {
  id: number;
  user_id: number;
  account: number;
  amount: number;
  bank_reference: string;
  request_id: string;
  /** pending (sent, no answer yet), accepted (CashWithdrawn), rejected (CommandRejected or a gateway Reject). */
  status: 'pending' | 'accepted' | 'rejected';
  reason: string | null;
  cash_balance: number | null;
  created_at: number;
  updated_at: number;
}

/** A chart candle row (times in µs, as the exchange's event timestamps). */
export interface CandleRow {
  instrument: number;
  interval_us: number;
  start_us: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  notional: number;
  trades: number;
  closed: number;
}

/** Order history filters (GET /api/orders). */
export interface OrderFilter {
  status?: string;
  symbol?: string;
  side?: 'buy' | 'sell';
  /** created_at bounds, ms since the epoch: from inclusive, to exclusive. */
  from?: number;
  to?: number;
}

export class BrokerStore {
  readonly db: Database.Database;

  /** Sequence of the last exchange event applied to the read models (0: none). */
  lastEventSequence(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'last_event_sequence'").get() as { value: string } | undefined;
    return row === undefined ? 0 : Number(row.value);
  }

  setLastEventSequence(sequence: number): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('last_event_sequence', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(sequence));
  }

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.db.exec(EQUITY_HISTORY_SCHEMA);
    // Columns added after the first release of broker.db.
    this.addColumn('users', 'email_verified_at', 'INTEGER');
    this.addColumn('kyc', 'account_type', "TEXT NOT NULL DEFAULT 'cash'");
    this.addColumn('users', 'totp_secret', 'TEXT');
    this.addColumn('users', 'totp_enabled', 'INTEGER NOT NULL DEFAULT 0');
    this.addColumn('users', 'totp_last_step', 'INTEGER');
  }

  private addColumn(table: string, column: string, definition: string): void {
    const columns = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === column)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }

  close(): void {
    this.db.close();
  }

  // ------------------------------------------------------------ users and sessions

  createUser(email: string, passwordHash: string, salt: string, now: number): UserRow {
    const id = Number(this.db.prepare('INSERT INTO users (email, password_hash, salt, created_at) VALUES (?, ?, ?, ?)').run(email, passwordHash, salt, now).lastInsertRowid);
    return this.user(id)!;
  }

  user(id: number): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  }

  userByEmail(email: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as UserRow | undefined;
  }

  accounts(): Array<{ id: number; account: number }> {
    return this.db.prepare('SELECT id, account FROM users WHERE account IS NOT NULL').all() as Array<{ id: number; account: number }>;
  }

  maxAccount(): number {
    return Number((this.db.prepare('SELECT MAX(account) AS m FROM users').get() as { m: number | null }).m ?? 0);
  }

  setAccount(userId: number, account: number): void {
    this.db.prepare('UPDATE users SET account = ? WHERE id = ?').run(account, userId);
  }

  setKycStatus(userId: number, status: KycStatus): void {
    this.db.prepare('UPDATE users SET kyc_status = ? WHERE id = ?').run(status, userId);
  }

  setAccountStatus(account: number, status: string): void {
    this.db.prepare('UPDATE users SET account_status = ? WHERE account = ?').run(status, account);
  }

  createSession(tokenHash: string, userId: number, now: number, expiresAt: number): void {
    this.db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(tokenHash, userId, now, expiresAt);
  }

  session(tokenHash: string): { user_id: number; expires_at: number } | undefined {
    return this.db.prepare('SELECT user_id, expires_at FROM sessions WHERE token_hash = ?').get(tokenHash) as { user_id: number; expires_at: number } | undefined;
  }

  deleteSession(tokenHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
  }

  deleteExpiredSessions(now: number): void {
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
  }

  /** Ends every session of a user (a password reset). Returns how many. */
  deleteSessionsOf(userId: number): number {
    return this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;
  }

  setPassword(userId: number, passwordHash: string, salt: string): void {
    this.db.prepare('UPDATE users SET password_hash = ?, salt = ? WHERE id = ?').run(passwordHash, salt, userId);
  }

  setEmailVerified(userId: number, now: number): void {
    this.db.prepare('UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?').run(now, userId);
  }

  /** Enrolls (secret, not enabled), enables, or with null removes the user's TOTP secret. */
  setTotp(userId: number, secret: string | null, enabled: boolean): void {
    this.db.prepare('UPDATE users SET totp_secret = ?, totp_enabled = ?, totp_last_step = NULL WHERE id = ?').run(secret, enabled ? 1 : 0, userId);
  }

  /** Records an accepted TOTP step; false if it is not after the last accepted one (a code works once). */
  useTotpStep(userId: number, step: number): boolean {
    return this.db.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)').run(step, userId, step).changes > 0;
  }

  // ------------------------------------------------------------ e-mail tokens and the outbox

  /** A new token for (user, purpose); the user's older tokens of that purpose stop working (one live token each). */
  createEmailToken(userId: number, purpose: EmailTokenPurpose, tokenHash: string, now: number, expiresAt: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?').run(userId, purpose);
      this.db.prepare('INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(tokenHash, userId, purpose, now, expiresAt);
    })();
  }

  /**
   * Uses a token: the user id if it exists for `purpose`, is unused and unexpired
   * (it is then used, in the same statement: single use even under concurrency), else undefined.
   */
  useEmailToken(tokenHash: string, purpose: EmailTokenPurpose, now: number): number | undefined {
    const row = this.db.prepare(`UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
      RETURNING user_id`).get(now, tokenHash, purpose, now) as { user_id: number } | undefined;
    return row?.user_id;
  }

  /** Drops used and expired tokens (the sweep). */
  deleteStaleEmailTokens(now: number): void {
    this.db.prepare('DELETE FROM email_tokens WHERE used_at IS NOT NULL OR expires_at <= ?').run(now);
  }

  /** Queues a mail in the dev outbox, keeping the newest `kept` messages. */
  addOutbox(toEmail: string, kind: string, subject: string, body: string, now: number, kept: number): number {
    return this.db.transaction(() => {
      const id = Number(this.db.prepare('INSERT INTO outbox (to_email, kind, subject, body, created_at) VALUES (?, ?, ?, ?, ?)').run(toEmail, kind, subject, body, now).lastInsertRowid);
      this.db.prepare('DELETE FROM outbox WHERE id <= ?').run(id - kept);
      return id;
    })();
  }

  outbox(toEmail: string | undefined, limit: number): Array<{ id: number; to: string; kind: string; subject: string; body: string; createdAt: number }> {
    const columns = 'id, to_email AS "to", kind, subject, body, created_at AS createdAt';
    const rows = toEmail === undefined
      ? this.db.prepare(`SELECT ${columns} FROM outbox ORDER BY id DESC LIMIT ?`).all(limit)
      : this.db.prepare(`SELECT ${columns} FROM outbox WHERE to_email = ? ORDER BY id DESC LIMIT ?`).all(toEmail, limit);
    return rows as Array<{ id: number; to: string; kind: string; subject: string; body: string; createdAt: number }>;
  }

  // ------------------------------------------------------------ KYC

  submitKyc(userId: number, k: { name: string; dateOfBirth: string; address: string; documentReference: string; accountType: 'cash' | 'margin' }, now: number): number {
    return this.db.transaction(() => {
      const id = Number(this.db.prepare(
        'INSERT INTO kyc (user_id, name, date_of_birth, address, document_reference, status, submitted_at, account_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(userId, k.name, k.dateOfBirth, k.address, k.documentReference, 'pending', now, k.accountType).lastInsertRowid);
      this.setKycStatus(userId, 'pending');
      return id;
    })();
  }

  kycOf(userId: number): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT * FROM kyc WHERE user_id = ? ORDER BY id DESC LIMIT 1').get(userId) as Record<string, unknown> | undefined;
  }

  kyc(id: number): { id: number; user_id: number; status: string } & Record<string, unknown> | undefined {
    return this.db.prepare('SELECT * FROM kyc WHERE id = ?').get(id) as ({ id: number; user_id: number; status: string } & Record<string, unknown>) | undefined;
  }

  kycQueue(status: string): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT kyc.*, users.email FROM kyc JOIN users ON users.id = kyc.user_id WHERE kyc.status = ? ORDER BY kyc.id LIMIT 500').all(status) as Array<Record<string, unknown>>;
  }

  reviewKyc(id: number, status: 'approved' | 'rejected', note: string, now: number): void {
    this.db.prepare('UPDATE kyc SET status = ?, reviewed_at = ?, review_note = ? WHERE id = ?').run(status, now, note, id);
  }

  // ------------------------------------------------------------ watchlists

  watchlists(userId: number): Array<{ id: number; name: string; symbols: string[] }> {
    const lists = this.db.prepare('SELECT id, name FROM watchlists WHERE user_id = ? ORDER BY id').all(userId) as Array<{ id: number; name: string }>;
    const symbols = this.db.prepare('SELECT symbol FROM watchlist_symbols WHERE watchlist_id = ? ORDER BY rowid');
    return lists.map((l) => ({ ...l, symbols: (symbols.all(l.id) as Array<{ symbol: string }>).map((r) => r.symbol) }));
  }

  watchlistCount(userId: number): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM watchlists WHERE user_id = ?').get(userId) as { n: number }).n);
  }

  /** The watchlist if it belongs to userId. */
  ownWatchlist(userId: number, id: number): { id: number; name: string } | undefined {
    return this.db.prepare('SELECT id, name FROM watchlists WHERE id = ? AND user_id = ?').get(id, userId) as { id: number; name: string } | undefined;
  }

  createWatchlist(userId: number, name: string, now: number): number {
    return Number(this.db.prepare('INSERT INTO watchlists (user_id, name, created_at) VALUES (?, ?, ?)').run(userId, name, now).lastInsertRowid);
  }

  deleteWatchlist(userId: number, id: number): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM watchlist_symbols WHERE watchlist_id IN (SELECT id FROM watchlists WHERE id = ? AND user_id = ?)').run(id, userId);
      return this.db.prepare('DELETE FROM watchlists WHERE id = ? AND user_id = ?').run(id, userId).changes > 0;
    })();
  }

  renameWatchlist(userId: number, id: number, name: string): boolean {
    return this.db.prepare('UPDATE watchlists SET name = ? WHERE id = ? AND user_id = ?').run(name, id, userId).changes > 0;
  }

  /** Puts the list's symbols in the given order (they are listed in insertion order). */
  reorderSymbols(watchlistId: number, symbols: readonly string[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM watchlist_symbols WHERE watchlist_id = ?').run(watchlistId);
      const insert = this.db.prepare('INSERT INTO watchlist_symbols (watchlist_id, symbol) VALUES (?, ?)');
      for (const symbol of symbols) insert.run(watchlistId, symbol);
    })();
  }

  symbolCount(watchlistId: number): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM watchlist_symbols WHERE watchlist_id = ?').get(watchlistId) as { n: number }).n);
  }

  addSymbol(watchlistId: number, symbol: string): void {
    this.db.prepare('INSERT OR IGNORE INTO watchlist_symbols (watchlist_id, symbol) VALUES (?, ?)').run(watchlistId, symbol);
  }

  removeSymbol(watchlistId: number, symbol: string): boolean {
    return this.db.prepare('DELETE FROM watchlist_symbols WHERE watchlist_id = ? AND symbol = ?').run(watchlistId, symbol).changes > 0;
  }

  // ------------------------------------------------------------ alerts and notifications

  alerts(userId: number): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT id, symbol, direction, price, active, created_at, triggered_at FROM alerts WHERE user_id = ? ORDER BY id DESC LIMIT 200').all(userId) as Array<Record<string, unknown>>;
  }

  activeAlerts(): Array<{ id: number; user_id: number; symbol: string; instrument: number; direction: string; price: number }> {
    return this.db.prepare('SELECT id, user_id, symbol, instrument, direction, price FROM alerts WHERE active = 1').all() as Array<{ id: number; user_id: number; symbol: string; instrument: number; direction: string; price: number }>;
  }

  activeAlertCount(userId: number): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM alerts WHERE user_id = ? AND active = 1').get(userId) as { n: number }).n);
  }

  createAlert(userId: number, symbol: string, instrument: number, direction: string, price: number, now: number): number {
    return Number(this.db.prepare('INSERT INTO alerts (user_id, symbol, instrument, direction, price, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(userId, symbol, instrument, direction, price, now).lastInsertRowid);
  }

  deleteAlert(userId: number, id: number): boolean {
    return this.db.prepare('DELETE FROM alerts WHERE id = ? AND user_id = ?').run(id, userId).changes > 0;
  }

  triggerAlert(id: number, now: number): void {
    this.db.prepare('UPDATE alerts SET active = 0, triggered_at = ? WHERE id = ?').run(now, id);
  }

  notify(userId: number, kind: string, message: string, data: unknown, now: number): Record<string, unknown> {
    const id = Number(this.db.prepare('INSERT INTO notifications (user_id, kind, message, data, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(userId, kind, message, JSON.stringify(data), now).lastInsertRowid);
    return { id, kind, message, data, createdAt: now, read: false };
  }

  notifications(userId: number, limit: number): Array<Record<string, unknown>> {
    const rows = this.db.prepare('SELECT id, kind, message, data, created_at, read FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ?').all(userId, limit) as Array<{ id: number; kind: string; message: string; data: string; created_at: number; read: number }>;
    return rows.map((r) => ({ id: r.id, kind: r.kind, message: r.message, data: JSON.parse(r.data), createdAt: r.created_at, read: r.read === 1 }));
  }

  markRead(userId: number, ids: number[] | undefined): number {
    if (ids === undefined) return this.db.prepare('UPDATE notifications SET read = 1 WHERE user_id = ? AND read = 0').run(userId).changes;
    const statement = this.db.prepare('UPDATE notifications SET read = 1 WHERE user_id = ? AND id = ?');
    return this.db.transaction(() => ids.reduce((n, id) => n + statement.run(userId, id).changes, 0))();
  }

  // ------------------------------------------------------------ orders and executions

  createOrder(o: Omit<OrderRow, 'id' | 'filled' | 'notional' | 'exchange_order_id' | 'reason' | 'updated_at'>): number {
    return Number(this.db.prepare(`INSERT INTO orders (user_id, account, instrument, symbol, side, type, time_in_force, price, stop_price,
      quantity, leaves, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(o.user_id, o.account, o.instrument, o.symbol, o.side, o.type, o.time_in_force, o.price, o.stop_price, o.quantity, o.leaves, o.status, o.created_at, o.created_at).lastInsertRowid);
  }

  order(id: number): OrderRow | undefined {
    return this.db.prepare('SELECT * FROM orders WHERE id = ?').get(id) as OrderRow | undefined;
  }

  ownOrder(userId: number, id: number): OrderRow | undefined {
    return this.db.prepare('SELECT * FROM orders WHERE id = ? AND user_id = ?').get(id, userId) as OrderRow | undefined;
  }

  orderByExchangeId(orderId: number): OrderRow | undefined {
    return this.db.prepare('SELECT * FROM orders WHERE exchange_order_id = ?').get(orderId) as OrderRow | undefined;
  }

  /** A user's orders, newest first, filtered (every filter optional; `open` = any live status). */
  orders(userId: number, filter: OrderFilter, limit: number): OrderRow[] {
    const clauses = ['user_id = @userId'];
    if (filter.status === 'open') clauses.push("status IN ('pending', 'open', 'partially_filled', 'stop_pending')");
    else if (filter.status !== undefined) clauses.push('status = @status');
    if (filter.symbol !== undefined) clauses.push('symbol = @symbol');
    if (filter.side !== undefined) clauses.push('side = @side');
    if (filter.from !== undefined) clauses.push('created_at >= @from');
    if (filter.to !== undefined) clauses.push('created_at < @to');
    return this.db.prepare(`SELECT * FROM orders WHERE ${clauses.join(' AND ')} ORDER BY id DESC LIMIT @limit`).all({ ...filter, userId, limit }) as OrderRow[];
  }

  updateOrder(id: number, fields: Partial<OrderRow>, now: number): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${k} = @${k}`).join(', ');
    this.db.prepare(`UPDATE orders SET ${sets}, updated_at = @updated_at WHERE id = @id`).run({ ...fields, updated_at: now, id });
  }

  addExecution(e: { order_id: number; user_id: number; symbol: string; side: string; price: number; quantity: number; fee: number; liquidity: string; sequence: number; created_at: number }): number {
    return Number(this.db.prepare(`INSERT INTO executions (order_id, user_id, symbol, side, price, quantity, fee, liquidity, sequence, created_at)
      VALUES (@order_id, @user_id, @symbol, @side, @price, @quantity, @fee, @liquidity, @sequence, @created_at)`).run(e).lastInsertRowid);
  }

  executions(userId: number, limit: number): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT id, order_id AS orderId, symbol, side, price, quantity, fee, liquidity, sequence, created_at AS createdAt FROM executions WHERE user_id = ? ORDER BY id DESC LIMIT ?').all(userId, limit) as Array<Record<string, unknown>>;
  }

  // ------------------------------------------------------------ cash and positions

  setCash(account: number, balance: number): void {
    this.db.prepare('INSERT INTO cash (account, balance) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance = excluded.balance').run(account, balance);
  }

  setReserved(account: number, reserved: number): void {
    this.db.prepare('INSERT INTO cash (account, reserved) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET reserved = excluded.reserved').run(account, reserved);
  }

  cash(account: number): { balance: number; reserved: number } {
    return (this.db.prepare('SELECT balance, reserved FROM cash WHERE account = ?').get(account) as { balance: number; reserved: number } | undefined) ?? { balance: 0, reserved: 0 };
  }

  /** The engine's trade date as of the last applied TradingDayEnded (1 before the first). */
  tradeDate(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'trade_date'").get() as { value: string } | undefined;
    return row === undefined ? 1 : Number(row.value);
  }

  setTradeDate(tradeDate: number): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('trade_date', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(tradeDate));
  }

  addUnsettledProceeds(account: number, instrument: number, settleDate: number, amount: number): void {
    this.db.prepare(`INSERT INTO unsettled_proceeds (account, instrument, settle_date, amount) VALUES (?, ?, ?, ?)
      ON CONFLICT(account, instrument, settle_date) DO UPDATE SET amount = amount + excluded.amount`).run(account, instrument, settleDate, amount);
  }

  /** A Settled event: the proceeds due on that date for the position are settled. */
  settleProceeds(account: number, instrument: number, settleDate: number): void {
    this.db.prepare('DELETE FROM unsettled_proceeds WHERE account = ? AND instrument = ? AND settle_date = ?').run(account, instrument, settleDate);
  }

  setInitialMargin(instrument: number, basisPoints: number): void {
    this.db.prepare('INSERT INTO margin_parameters (instrument, initial_bps) VALUES (?, ?) ON CONFLICT(instrument) DO UPDATE SET initial_bps = excluded.initial_bps').run(instrument, basisPoints);
  }

  /** Initial margin basis points of an instrument (its own, else the default's, else the core's default). */
  initialMargin(instrument: number, fallback: number): number {
    const row = this.db.prepare('SELECT initial_bps FROM margin_parameters WHERE instrument IN (?, 0) ORDER BY instrument DESC LIMIT 1').get(instrument) as { initial_bps: number } | undefined;
    return row?.initial_bps ?? fallback;
  }

  unsettledProceeds(account: number): number {
    return (this.db.prepare('SELECT COALESCE(SUM(amount), 0) AS total FROM unsettled_proceeds WHERE account = ?').get(account) as { total: number }).total;
  }

  setPosition(account: number, instrument: number, quantity: number, costBasis: number, realizedPnl: number): void {
    this.db.prepare(`INSERT INTO positions (account, instrument, quantity, cost_basis, realized_pnl) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(account, instrument) DO UPDATE SET quantity = excluded.quantity, cost_basis = excluded.cost_basis, realized_pnl = excluded.realized_pnl`)
      .run(account, instrument, quantity, costBasis, realizedPnl);
  }

  positions(account: number): Array<{ instrument: number; quantity: number; cost_basis: number; realized_pnl: number }> {
    return this.db.prepare('SELECT instrument, quantity, cost_basis, realized_pnl FROM positions WHERE account = ? ORDER BY instrument').all(account) as Array<{ instrument: number; quantity: number; cost_basis: number; realized_pnl: number }>;
  }

  /** A unique external reference for a deposit (Deposit.reference). */
  recordDeposit(account: number, amount: number, now: number): number {
    return Number(this.db.prepare('INSERT INTO deposits (account, amount, created_at) VALUES (?, ?, ?)').run(account, amount, now).lastInsertRowid);
  }

  // ------------------------------------------------------------ withdrawals

  createWithdrawal(w: { user_id: number; account: number; amount: number; bank_reference: string; request_id: string; created_at: number }): WithdrawalRow {
    const id = Number(this.db.prepare(`INSERT INTO withdrawals (user_id, account, amount, bank_reference, request_id, status, created_at, updated_at)
      VALUES (@user_id, @account, @amount, @bank_reference, @request_id, 'pending', @created_at, @created_at)`).run(w).lastInsertRowid);
    return this.withdrawal(id)!;
  }

  withdrawal(id: number): WithdrawalRow | undefined {
    return this.db.prepare('SELECT * FROM withdrawals WHERE id = ?').get(id) as WithdrawalRow | undefined;
  }

  ownWithdrawal(userId: number, id: number): WithdrawalRow | undefined {
    return this.db.prepare('SELECT * FROM withdrawals WHERE id = ? AND user_id = ?').get(id, userId) as WithdrawalRow | undefined;
  }

  withdrawalByRequest(userId: number, requestId: string): WithdrawalRow | undefined {
    return this.db.prepare('SELECT * FROM withdrawals WHERE user_id = ? AND request_id = ?').get(userId, requestId) as WithdrawalRow | undefined;
  }

  withdrawals(userId: number, limit: number): WithdrawalRow[] {
    return this.db.prepare('SELECT * FROM withdrawals WHERE user_id = ? ORDER BY id DESC LIMIT ?').all(userId, limit) as WithdrawalRow[];
  }

  withdrawalsSince(userId: number, since: number): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM withdrawals WHERE user_id = ? AND created_at >= ?').get(userId, since) as { n: number }).n);
  }

  /**
   * A withdrawal's answer. A refusal applies to a pending withdrawal only; booked
   * money (CashWithdrawn) is the truth and wins over anything (a retried request's
   * second command may be booked after the first was refused). False: nothing changed.
   */
  finishWithdrawal(id: number, status: 'accepted' | 'rejected', reason: string | null, cashBalance: number | null, now: number): boolean {
    const from = status === 'accepted' ? "status != 'accepted'" : "status = 'pending'";
    return this.db.prepare(`UPDATE withdrawals SET status = ?, reason = ?, cash_balance = ?, updated_at = ? WHERE id = ? AND ${from}`)
      .run(status, reason, cashBalance, now, id).changes > 0;
  }

  // ------------------------------------------------------------ chart candles

  /** Inserts or overwrites the candle (instrument, interval, start). */
  putCandle(c: CandleRow): void {
    this.db.prepare(`INSERT INTO candles (instrument, interval_us, start_us, open, high, low, close, volume, notional, trades, closed)
      VALUES (@instrument, @interval_us, @start_us, @open, @high, @low, @close, @volume, @notional, @trades, @closed)
      ON CONFLICT(instrument, interval_us, start_us) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
      close = excluded.close, volume = excluded.volume, notional = excluded.notional, trades = excluded.trades, closed = excluded.closed`).run(c);
  }

  /** Deletes the candles of one series that start before `startUs`. */
  pruneCandles(instrument: number, intervalUs: number, startUs: number): void {
    this.db.prepare('DELETE FROM candles WHERE instrument = ? AND interval_us = ? AND start_us < ?').run(instrument, intervalUs, startUs);
  }

  /** The newest `limit` candles of one series, oldest first. */
  candles(instrument: number, intervalUs: number, limit: number): CandleRow[] {
    const rows = this.db.prepare('SELECT * FROM candles WHERE instrument = ? AND interval_us = ? ORDER BY start_us DESC LIMIT ?').all(instrument, intervalUs, limit) as CandleRow[];
    return rows.reverse();
  }

  /** Every candle still open (at most one per series): what a restarting broker resumes. */
  openCandles(): CandleRow[] {
    return this.db.prepare('SELECT * FROM candles WHERE closed = 0').all() as CandleRow[];
  }
}
