/**
 * Shapes shared by the end-to-end benchmark (driver and load-generator workers),
 * the suite, the report and the comparison tool. Latencies are microseconds.
 */

/** Percentiles printed and stored for every latency histogram. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
  mean: number;
}

/** One point of a percentile curve: percentile (0..100) and value (µs). */
export type CurvePoint = [number, number];

/** One session the load generator drives. */
export interface SessionSpec {
  keyId: number;
  account: number;
  secret: string;
  url: string;
  instrument: number;
  referencePrice: number;
  seed: number;
}

export interface GeneratorInit {
  workerIndex: number;
  workerCount: number;
  sessions: SessionSpec[];
}

/** Sent by the driver to every generator: run one open-loop step. Times are epoch milliseconds (fractional). */
export interface RunCommand {
  type: 'run';
  /** Offered rate of the WHOLE load (all workers), orders per second. */
  totalRate: number;
  startEpochMs: number;
  warmupMs: number;
  measureMs: number;
  /** Longest wait for the answers to measured orders after the schedule ends. */
  drainMs: number;
  /** The measured window is cut into this many sub-windows (noise estimate). */
  subWindows: number;
}

/** Per-worker result; histograms travel hdr-compressed (base64). */
export interface GeneratorResult {
  workerIndex: number;
  histograms: {
    ack: string;
    fill: string;
    cancel: string;
    sendLag: string;
    ackFromSend: string;
    subWindowAck: string[];
  };
  counts: GeneratorCounts;
  /** CPU seconds this worker thread used during the measured window (/proc/thread-self). */
  cpuSeconds: number;
}

export interface GeneratorCounts {
  /** Orders (new + cancel) whose intended send time fell in the measured window. */
  measuredScheduled: number;
  measuredSent: number;
  newOrders: number;
  restingOrders: number;
  iocOrders: number;
  cancels: number;
  acks: number;
  fills: number;
  iocUnfilled: number;
  canceled: number;
  cancelRejected: number;
  orderRejected: number;
  /** Session-level Reject (THROTTLED, SYSTEM_BUSY, ...), by reason. */
  sessionRejects: Record<string, number>;
  orderRejectReasons: Record<string, number>;
  /** Measured requests still unanswered at the end of the drain (recorded as lower bounds). */
  unanswered: number;
  /** First answers received inside the measured window (any order, warm-up included). */
  answersInWindow: number;
  /** Requests actually written to a socket inside the measured window. */
  sentInWindow: number;
  framesSent: number;
  framesReceived: number;
  messagesReceived: number;
  bytesReceived: number;
  /** Requests whose tracking slot was reused before they were answered (should be 0). */
  trackingOverflow: number;
}

/** Everything measured at one offered rate, one configuration. */
export interface StepResult {
  label: string;
  durability: 'fsync' | 'os' | 'none';
  gatewayWorkers: number;
  offeredRate: number;
  /** First answers per second inside the measured window. */
  achievedRate: number;
  /** Requests written per second inside the measured window (client capacity check). */
  sentRate: number;
  warmupSeconds: number;
  measureSeconds: number;
  sessions: number;
  loadWorkers: number;
  ack: LatencySummary;
  fill: LatencySummary;
  cancel: LatencySummary;
  /** How late the client wrote requests vs their intended time (client-side lag). */
  sendLag: LatencySummary;
  /** Ack latency measured from the ACTUAL write (NOT corrected for coordinated omission; for attribution only). */
  ackFromSend: LatencySummary;
  ackCurve: CurvePoint[];
  fillCurve: CurvePoint[];
  /** Ack p50/p99 per sub-window of the measured window (noise within a run). */
  subWindows: Array<{ p50: number; p99: number; count: number }>;
  counts: GeneratorCounts;
  saturated: boolean;
  saturationReasons: string[];
  /** Other processes took more than CONTENDED_CORES during the window: figures are not clean. */
  contended: boolean;
  /** Other processes' CPU in each attempt when a contended step was re-run (the less contended attempt is kept). */
  attempts?: number[];
  cpu: CpuReport;
  server: ServerSample;
}

export interface CpuReport {
  /** CPU share (1.0 = one core) over the measured window. */
  serverProcess: number;
  /** Busiest server threads (share of one core each), highest first. */
  serverThreads: Array<{ tid: number; role: string; user: number; system: number }>;
  clientProcess: number;
  clientWorkers: number[];
  /** Whole machine (all processes, /proc/stat): 2.0 = both cores busy. */
  machine: number;
  /** machine - server - client: CPU other processes took during the window (a shared machine). */
  others: number;
  /** Machine busy cores measured just before the step, with nothing of the bench running. */
  backgroundBefore: number;
  loadAverage: number;
}

export interface ServerSample {
  /** Largest matched-minus-durable lag seen (events). */
  maxDurableLagEvents: number;
  maxInboundOccupancy: number;
  maxOutboundOccupancy: number;
  commandsProcessed: number;
  journalRecords: number;
  /** Events the matcher emitted per command over the window (exchange_matched_sequence / commands). */
  eventsPerCommand: number;
  samples: number;
  /** Every sample: [seconds since the window opened, durable lag events, inbound occupancy, outbound occupancy, commands/s since the previous sample]. */
  series: Array<[number, number, number, number, number]>;
}

/** The one JSON line the e2e bench ends with (and the suite stores). */
export interface E2eHeadline {
  bench: 'e2e';
  version: 1;
  machine: { cpu: string; cores: number; node: string; os: string };
  config: { warmupSeconds: number; measureSeconds: number; sessions: number; loadWorkers: number; instruments: number; mix: string };
  sweep: StepResult[];
  durability: StepResult[];
  gateways: StepResult[];
  kneeRate: number | null;
  compareRate: number;
  targets: {
    at100kFsyncP99AckUs: number | null;
    at100kFsyncP999AckUs: number | null;
    p99Met: boolean | null;
    p999Met: boolean | null;
    kneeAbove200k: boolean;
  };
  seconds: number;
}
