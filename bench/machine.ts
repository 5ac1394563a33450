/**
 * The machine header every benchmark prints first: what the figures were measured
 * on. Read once from `os`/`process`; nothing here is timed.
 */
import * as os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the OS reports (os.availableParallelism when present). */
  cores: number;
  totalMemoryBytes: number;
  node: string;
  v8: string;
  os: string;
  kernel: string;
  arch: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length;
  return {
    cpuModel: (cpus[0]?.model ?? 'unknown').trim(),
    cores,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()}`,
    kernel: os.version(),
    arch: os.arch(),
  };
}

/** The header as printed lines (also used by docs). */
export function formatMachine(info: MachineInfo = machineInfo()): string {
  const gib = (info.totalMemoryBytes / 2 ** 30).toFixed(1);
  return [
    `machine  ${info.cpuModel}, ${info.cores} cores, ${gib} GiB RAM`,
    `runtime  Node ${info.node} (V8 ${info.v8}), ${info.os} ${info.arch}`,
    `kernel   ${info.kernel}`,
  ].join('\n');
}

export function printMachine(info: MachineInfo = machineInfo()): MachineInfo {
  console.log(formatMachine(info));
  return info;
}
