import { describe, expect, it } from 'vitest';
import { parseRpcLog } from '../../src/evm/rpc-log.ts';

const good = {
  address: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  topics: ['0x' + 'AB'.repeat(32), '0x' + '01'.repeat(32)],
  data: '0x' + '00'.repeat(64),
  blockNumber: '0x1b4',
  blockHash: '0x' + 'CD'.repeat(32),
  transactionHash: '0x' + 'ef'.repeat(32),
  transactionIndex: '0x0',
  logIndex: '0xa',
  removed: false,
};

describe('parseRpcLog', () => {
  it('takes an eth_getLogs entry, hex in lower case', () => {
    expect(parseRpcLog(good)).toEqual({
      address: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      topics: ['0x' + 'ab'.repeat(32), '0x' + '01'.repeat(32)],
      data: '0x' + '00'.repeat(64),
      blockNumber: 436n,
      blockHash: '0x' + 'cd'.repeat(32),
      transactionHash: '0x' + 'ef'.repeat(32),
      logIndex: 10,
      removed: false,
    });
    const { removed: _r, ...noRemoved } = good;
    expect(parseRpcLog(noRemoved).removed).toBe(false);
    expect(parseRpcLog({ ...good, removed: true }).removed).toBe(true);
  });

  it.each([
    ['not an object', null, 'log'],
    ['an array', [], 'log'],
    ['a short address', { ...good, address: '0x1234' }, 'log.address'],
    ['topics not an array', { ...good, topics: 'x' }, 'log.topics'],
    ['five topics', { ...good, topics: Array(5).fill('0x' + '00'.repeat(32)) }, 'log.topics'],
    ['a short topic', { ...good, topics: ['0x12'] }, 'log.topics[0]'],
    ['odd data', { ...good, data: '0x123' }, 'log.data'],
    ['data without 0x', { ...good, data: '00' }, 'log.data'],
    ['a decimal block number', { ...good, blockNumber: 436 }, 'log.blockNumber'],
    ['a padded quantity', { ...good, blockNumber: '0x01b4' }, 'log.blockNumber'],
    ['a missing block hash (pending log)', { ...good, blockHash: null }, 'log.blockHash'],
    ['a bad tx hash', { ...good, transactionHash: '0x' + 'zz'.repeat(32) }, 'log.transactionHash'],
    ['a missing log index', { ...good, logIndex: undefined }, 'log.logIndex'],
    ['removed as text', { ...good, removed: 'no' }, 'log.removed'],
  ])('refuses %s, naming the field', (_what, raw, fieldName) => {
    expect(() => parseRpcLog(raw)).toThrow(expect.objectContaining({ field: fieldName }));
  });
});
