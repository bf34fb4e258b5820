import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/logging.ts';
import { redactUrl } from '../../src/errors.ts';

describe('logging', () => {
  it('never writes secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    const key = '0x' + 'ab'.repeat(32);
    log.info({ privateKey: key, keys: { relayerKey: key }, config: { redisUrl: 'redis://:pw@h:6379', databaseUrl: 'postgres://u:pw@h/db' }, relayerKey: key }, 'hello');
    const out = lines.join('');
    expect(out).toContain('hello');
    expect(out).not.toContain('ab'.repeat(32));
    expect(out).not.toContain('pw');
  });

  it('redacts credentials and query strings in endpoint URLs', () => {
    expect(redactUrl('https://user:secret@rpc.example/v1?apikey=123')).toBe('https://***:***@rpc.example/v1?***');
    expect(redactUrl('http://127.0.0.1:8545')).toBe('http://127.0.0.1:8545/');
  });
});
