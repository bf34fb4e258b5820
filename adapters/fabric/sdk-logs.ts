import { createRequire } from 'node:module';
import { format } from 'node:util';
import type { Logger } from 'pino';

interface SdkLogger {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

let routed = false;

/**
 * fabric-network logs through fabric-common's one process-wide winston logger,
 * straight to the console: that bypasses the hub's pino logger (and its
 * redaction) and prints expected refusals (an MVCC conflict, an endorsement
 * error the adapter handles) as errors. The SDK only offers a global setter,
 * so the first Fabric adapter routes it into its own logger, one level down.
 */
export function routeFabricSdkLogs(logger: Logger): void {
  if (routed) return;
  routed = true;
  const log = logger.child({ component: 'fabric-sdk' });
  const sdk: SdkLogger = {
    debug: (...a) => log.trace(format(...a)),
    info: (...a) => log.debug(format(...a)),
    warn: (...a) => log.info(format(...a)),
    error: (...a) => log.warn(format(...a)),
  };
  const { Utils } = createRequire(import.meta.url)('fabric-common') as { Utils: { setLogger(l: SdkLogger): void } };
  Utils.setLogger(sdk);
}
