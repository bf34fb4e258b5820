import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { attestationsPlugin } from '../../src/api/attestations.ts';
import { buildApi } from '../../src/api/server.ts';
import type { GovernanceClient } from '../../src/governance/client.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex } from '../../src/index/types.ts';

/**
 * POST /attestations input checks: every malformed body is a 400 that names
 * the field, before the hub reads any chain (the governance client here has no
 * chain behind it: a read would fail the test with a 500).
 */
describe('POST /attestations bad input', () => {
  let index: MessageIndex;
  let app: FastifyInstance;
  const gov = { chainId: 1234n, addresses: { messageLog: '0x00000000000000000000000000000000000000aa', attestorSet: '0x00000000000000000000000000000000000000bb', chainRegistry: '0x0000000000000000000000000000000000000000' } } as unknown as GovernanceClient;
  const good = { rootType: 1, batchNo: '7', setId: '2', signature: `0x${'11'.repeat(65)}`, attestor: '0x00000000000000000000000000000000000000cc' };

  beforeAll(async () => {
    index = await openIndex({});
    app = buildApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }), plugins: [attestationsPlugin({ index, gov })] });
  });

  afterAll(async () => {
    await app.close();
    await index.close();
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['rootType 4', { ...good, rootType: 4 }, 'rootType'],
    ['rootType as text', { ...good, rootType: 'messages' }, 'rootType'],
    ['no batchNo', { ...good, batchNo: undefined }, 'batchNo'],
    ['batchNo 0', { ...good, batchNo: '0' }, 'batchNo'],
    ['batchNo past uint64', { ...good, batchNo: '18446744073709551616' }, 'batchNo'],
    ['batchNo negative', { ...good, batchNo: -1 }, 'batchNo'],
    ['setId not a number', { ...good, setId: 'two' }, 'setId'],
    ['short signature', { ...good, signature: '0x1234' }, 'signature'],
    ['no signature', { ...good, signature: undefined }, 'signature'],
    ['attestor not an address', { ...good, attestor: '0x12' }, 'attestor'],
    ['an unknown field', { ...good, root: `0x${'00'.repeat(32)}` }, 'root'],
  ];

  for (const [what, body, field] of cases) {
    it(`${what}: 400 naming ${field}`, async () => {
      const r = await app.inject({ method: 'POST', url: '/attestations', payload: JSON.parse(JSON.stringify(body)) as object });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.field).toBe(field);
      expect(r.json().error.message).toContain(field);
    });
  }

  it('a body that is not an object: 400', async () => {
    const r = await app.inject({ method: 'POST', url: '/attestations', payload: '[1,2]', headers: { 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(400);
  });

  it('is documented in /docs', async () => {
    const r = await app.inject({ method: 'GET', url: '/docs' });
    const op = r.json().paths['/attestations'].post;
    expect(op.summary).toContain('recomputes');
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['rootType', 'batchNo', 'setId', 'signature']);
  });
});
