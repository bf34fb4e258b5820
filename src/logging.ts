import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'relayerKey',
  '*.relayerKey',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'mnemonic',
  '*.mnemonic',
  'databaseUrl',
  '*.databaseUrl',
  'redisUrl',
  '*.redisUrl',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

/**
 * Creates the root logger; components get children (`logger.child({component})`).
 * Nothing here is a module singleton: the process wiring owns the logger.
 */
export function createLogger({ level = 'info', file, name = 'qiao' }: { level?: string; file?: string; name?: string } = {}): Logger {
  const opts = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    return pino(opts, pino.destination({ dest: file, sync: false, mkdir: true }));
  }
  return pino(opts, pino.destination({ dest: 2, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
