/**
 * Health, readiness and Prometheus metrics over HTTP. Readiness turns true only
 * after recovery has finished and the gateways listen. Metrics are read from the
 * shared control block and the rings at scrape time (nothing on the hot path).
 */
import http from 'node:http';
import client from 'prom-client';
import type { ExchangeCore } from './exchange';

export interface ObservabilityState {
  ready: boolean;
  live: boolean;
}

/** Latest figures a gateway worker reported (gateway/order-entry/order-entry-worker.ts, every second). */
export interface GatewayStats {
  sessions: number;
  throttled: number;
  systemBusy: number;
  /** Times the gateway stopped reading its sockets because the inbound ring was full. */
  readPauses: number;
  protocolRejects: number;
  rejectsByReason: Record<number, number>;
  ackLatencyMicros: { p50: number; p99: number; p999: number; max: number; count: number };
}

/** Latest figures of the market-data endpoint. */
export interface MarketDataStats {
  subscribers: number;
  slowConsumerDrops: number;
}

/** What the metrics read besides the core's shared cells. */
export interface MetricSources {
  gateways: () => GatewayStats[];
  marketData: () => MarketDataStats[];
  snapshot: () => { storedAtMs: number; durationMs: number };
  /** EventStoreDB replication (undefined: not configured). */
  replication: () => { sequence: number; lagEvents: number } | undefined;
}

/** Operator actions behind POST /admin/* (bearer token from the configuration). */
export interface AdminActions {
  token: string;
  status(): Record<string, unknown>;
  snapshot(): Promise<Record<string, unknown>>;
  stop(): void;
}

export function createMetrics(core: ExchangeCore, state: ObservabilityState, sources: MetricSources): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge('exchange_matched_sequence', 'Sequence of the last event the matcher emitted', () => core.control.matchedSequence);
  gauge('exchange_durable_sequence', 'Sequence of the last event the journal made durable', () => core.control.durableSequence);
  gauge('exchange_journal_durable_lag_events', 'Matched minus durable sequence', () => core.control.matchedSequence - core.control.durableSequence);
  gauge('exchange_commands_processed_total', 'Commands the matcher processed since start', () => core.control.commandsProcessed);
  gauge('exchange_journal_records_total', 'Journal records appended since start', () => core.control.journalRecords);
  gauge('exchange_inbound_ring_occupancy', 'Inbound ring slots in use', () => core.inbound.occupancy());
  gauge('exchange_outbound_ring_occupancy', 'Outbound ring slots not yet released by the slowest consumer', () => core.outbound.occupancy());
  gauge('exchange_snapshot_sequence', 'Sequence of the newest snapshot', () => core.control.snapshotSequence);
  gauge('exchange_ready', '1 when recovery finished and gateways listen', () => (state.ready ? 1 : 0));
  const sum = (pick: (g: GatewayStats) => number) => sources.gateways().reduce((total, g) => total + pick(g), 0);
  const worst = (pick: (g: GatewayStats) => number) => sources.gateways().reduce((most, g) => Math.max(most, pick(g)), 0);
  gauge('exchange_sessions_connected', 'Order-entry sessions logged on', () => sum((g) => g.sessions));
  gauge('exchange_throttled_total', 'Requests refused THROTTLED by the gateways', () => sum((g) => g.throttled));
  gauge('exchange_system_busy_total', 'Requests refused SYSTEM_BUSY (inbound ring full)', () => sum((g) => g.systemBusy));
  gauge('exchange_gateway_read_pauses_total', 'Times a gateway stopped reading its sockets (inbound ring full) until the matcher caught up', () => sum((g) => g.readPauses ?? 0));
  gauge('exchange_protocol_rejects_total', 'Protocol-level rejects (bad input, permissions)', () => sum((g) => g.protocolRejects));
  new client.Gauge({
    name: 'exchange_rejects_total', help: 'Rejects by reason code (core and gateway codes)', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      const totals: Record<string, number> = {};
      for (const g of sources.gateways()) for (const [reason, n] of Object.entries(g.rejectsByReason)) totals[reason] = (totals[reason] ?? 0) + n;
      for (const [reason, n] of Object.entries(totals)) this.set({ reason }, n);
    },
  });
  new client.Gauge({
    name: 'exchange_order_to_ack_microseconds', help: 'Order-to-ack latency over the last second (receive stamp to durable ack), worst gateway',
    labelNames: ['quantile'], registers: [registry],
    collect() {
      this.set({ quantile: '0.5' }, worst((g) => g.ackLatencyMicros.p50));
      this.set({ quantile: '0.99' }, worst((g) => g.ackLatencyMicros.p99));
      this.set({ quantile: '0.999' }, worst((g) => g.ackLatencyMicros.p999));
      this.set({ quantile: '1' }, worst((g) => g.ackLatencyMicros.max));
    },
  });
  gauge('exchange_market_data_subscribers', 'Market-data connections', () => sources.marketData().reduce((n, m) => n + m.subscribers, 0));
  gauge('exchange_market_data_slow_consumer_drops_total', 'Market-data subscribers disconnected as slow consumers', () => sources.marketData().reduce((n, m) => n + m.slowConsumerDrops, 0));
  gauge('exchange_snapshot_age_seconds', 'Seconds since the newest snapshot was stored (-1: none since start)', () => {
    const at = sources.snapshot().storedAtMs;
    return at === 0 ? -1 : (Date.now() - at) / 1000;  // clock-ok: supervisor side, never inside the matcher
  });
  gauge('exchange_snapshot_duration_milliseconds', 'Cut-to-stored time of the newest snapshot', () => sources.snapshot().durationMs);
  gauge('exchange_replication_sequence', 'Newest sequence the EventStoreDB stream acknowledged (-1: replication not configured)', () => sources.replication()?.sequence ?? -1);
  gauge('exchange_replication_lag_events', 'Events the EventStoreDB stream is behind the local journal (-1: not configured)', () => sources.replication()?.lagEvents ?? -1);
  return registry;
}

export function startHttp(port: number, host: string, registry: client.Registry, state: ObservabilityState, admin?: AdminActions): Promise<http.Server> {
  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (url.startsWith('/admin/')) {
      if (admin === undefined) return json(response, 404, { error: 'admin endpoints are not enabled' });
      if (request.headers.authorization !== `Bearer ${admin.token}`) return json(response, 401, { error: 'missing or wrong bearer token' });
      if (url === '/admin/status' && request.method === 'GET') return json(response, 200, admin.status());
      if (url === '/admin/snapshot' && request.method === 'POST') {
        admin.snapshot().then((result) => json(response, 200, result), (error: Error) => json(response, 500, { error: error.message }));
        return;
      }
      if (url === '/admin/stop' && request.method === 'POST') {
        json(response, 202, { stopping: true });
        admin.stop();
        return;
      }
      return json(response, 404, { error: 'unknown admin action: GET /admin/status, POST /admin/snapshot, POST /admin/stop' });
    }
    if (url === '/health') {
      response.writeHead(state.live ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ live: state.live }));
    } else if (url === '/ready') {
      response.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ready: state.ready }));
    } else if (url === '/metrics') {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(text);
        },
        (error: Error) => {
          response.writeHead(500);
          response.end(error.message);
        },
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found: try /health, /ready, /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
