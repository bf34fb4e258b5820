import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err.field;
    throw err;
  }
  return undefined;
}

describe('config', () => {
  it('has defaults for the embedded hub', () => {
    const c = parseConfig({});
    expect(c.dataDir).toBe('.qiao');
    expect(c.api.port).toBe(7878);
    expect(c.redisUrl).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
  });

  it('names the bad field', () => {
    expect(fieldOf(() => parseConfig({ api: { port: 'abc' } }))).toBe('api.port');
    expect(fieldOf(() => parseConfig({ api: { port: 70000 } }))).toBe('api.port');
    expect(fieldOf(() => parseConfig({ relayer: { batchSize: 0 } }))).toBe('relayer.batchSize');
    expect(fieldOf(() => parseConfig({ redisUrl: 'localhost:6379' }))).toBe('redisUrl');
    expect(fieldOf(() => parseConfig({ bogus: 1 }))).toBe('bogus');
    expect(fieldOf(() => parseConfig({ foo: 1, bar: 2 }))).toBe('foo');
    expect(fieldOf(() => parseConfig({ demo: { extra: true } }))).toBe('demo.extra');
    expect(fieldOf(() => parseConfig({ demo: { gasLimit: 500_000 } }))).toBe('demo.gasLimit');
    expect(parseConfig({ demo: { gasLimit: 100_000_000 } }).demo.gasLimit).toBe(100_000_000);
    expect(parseConfig({}).demo.gasLimit).toBeUndefined();
  });

  it('layers file < environment < overrides', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-cfg-'));
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ api: { port: 1000 }, dataDir: 'from-file', logLevel: 'warn' }));
    const c = await loadConfig({ file, env: { QIAO_API_PORT: '2000', QIAO_DATA_DIR: 'from-env' }, overrides: { dataDir: 'from-flag' } });
    expect(c.api.port).toBe(2000);
    expect(c.dataDir).toBe('from-flag');
    expect(c.logLevel).toBe('warn');
    await expect(loadConfig({ file, env: { QIAO_API_PORT: 'x' } })).rejects.toMatchObject({ field: 'api.port' });
    await writeFile(file, '{not json');
    await expect(loadConfig({ file, env: {} })).rejects.toMatchObject({ field: '(file)' });
    await expect(loadConfig({ file: join(dir, 'missing.json'), env: {} })).rejects.toBeInstanceOf(ConfigError);
  });
});
