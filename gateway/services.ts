/**
 * The gateway-side services the supervisor starts: order-entry gateway workers and
 * the market-data publisher. (Filled in as the gateway lands.)
 */
import type { Logger } from 'pino';
import type { ExchangeConfig } from '../core/runtime/config';
import type { ServiceFactory } from '../core/runtime/supervisor';

export function gatewayServices(_config: ExchangeConfig, _log: Logger): ServiceFactory[] {
  return [];
}
