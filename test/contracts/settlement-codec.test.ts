import { AbiCoder } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import {
  BadSettlementPayload,
  SettlementRejected,
  UnroutableAmount,
  bytes16ToUetr,
  complianceFailure,
  decodeSettlementPayload,
  encodeSettlementPayload,
  hopOutput,
  isUetr,
  newUetr,
  planLegs,
  snakeCase,
  tryHopOutput,
  uetrToBytes16,
  type SettlementPayload,
} from '../../src/settlement/index.ts';

// Pure parts of src/settlement: no chain. The contracts are checked against the same code in
// settlement-hub.test.ts (quoteHop, stored legs) and escrow.test.ts (payloads both ways).
const A = '0x1111111111111111111111111111111111111111';
const B = '0x2222222222222222222222222222222222222222';
const T = '0x3333333333333333333333333333333333333333';

describe('uetr', () => {
  it('makes UUIDv4s and maps them to and from bytes16', () => {
    for (let i = 0; i < 50; i++) {
      const u = newUetr();
      expect(isUetr(u)).toBe(true);
      expect(bytes16ToUetr(uetrToBytes16(u))).toBe(u);
    }
    expect(uetrToBytes16('eb6305c9-1f7f-49de-aed0-16487c27b42d')).toBe('0xeb6305c91f7f49deaed016487c27b42d');
  });

  it('refuses other versions, variants, upper case and bad bytes', () => {
    expect(isUetr('eb6305c9-1f7f-19de-aed0-16487c27b42d')).toBe(false); // version 1
    expect(isUetr('eb6305c9-1f7f-49de-7ed0-16487c27b42d')).toBe(false); // variant 0xxx
    expect(isUetr('EB6305C9-1F7F-49DE-AED0-16487C27B42D')).toBe(false);
    expect(() => uetrToBytes16('not-a-uuid')).toThrow(ValidationError);
    expect(() => bytes16ToUetr('0x1234')).toThrow(ValidationError);
    expect(() => bytes16ToUetr('0xeb6305c91f7f19deaed016487c27b42d')).toThrow(ValidationError);
  });
});

describe('settlement payload', () => {
  const uetr = newUetr();
  const cases: SettlementPayload[] = [
    { kind: 'LOCKED', uetr, leg: 0, body: { token: T, amount: 123n, from: A, to: B } },
    { kind: 'LOCK_FAILED', uetr, leg: 2, reason: 'insufficient liquidity' },
    { kind: 'RESERVE', uetr, leg: 3, body: { token: T, amount: 2n ** 200n, from: B, to: A } },
    { kind: 'RELEASE', uetr, leg: 1 },
    { kind: 'REFUND', uetr, leg: 0 },
  ];

  it('round-trips every kind in the frozen layout', () => {
    for (const c of cases) expect(decodeSettlementPayload(encodeSettlementPayload(c))).toEqual(c);
    const raw = AbiCoder.defaultAbiCoder().decode(['uint8', 'bytes16', 'uint8', 'bytes'], encodeSettlementPayload(cases[3]!));
    expect([Number(raw[0]), raw[1], Number(raw[2]), raw[3]]).toEqual([4, uetrToBytes16(uetr), 1, '0x']);
  });

  it('throws a typed error for anything else', () => {
    const abi = AbiCoder.defaultAbiCoder();
    const bad = [
      '0x',
      '0x1234',
      abi.encode(['uint8', 'bytes16', 'uint8', 'bytes'], [9, uetrToBytes16(uetr), 0, '0x']),
      abi.encode(['uint8', 'bytes16', 'uint8', 'bytes'], [4, uetrToBytes16(uetr), 0, '0x01']),
      abi.encode(['uint8', 'bytes16', 'uint8', 'bytes'], [1, uetrToBytes16(uetr), 0, '0x01']),
      abi.encode(['uint8', 'bytes16', 'uint8', 'bytes'], [4, '0x' + '00'.repeat(16), 0, '0x']),
    ];
    for (const b of bad) expect(() => decodeSettlementPayload(b)).toThrow(BadSettlementPayload);
  });
});

describe('amounts', () => {
  const c = { feeBps: 30, fixedFee: 10_000n, spreadBps: 20 };
  it('applies the formula step by step with integer division', () => {
    // a = 250e6: fee = 10_000 + 750_000; net = 249_240_000; *0.92 = 229_300_800; *(9980/10000) = 228_842_198 (floor)
    expect(hopOutput(250_000_000n, c, 92n * 10n ** 16n)).toEqual({ input: 250_000_000n, fee: 760_000n, net: 249_240_000n, out: 228_842_198n });
    expect(tryHopOutput(10_030n, c, 10n ** 18n)).toEqual({ refused: 'fee_exceeds_amount' });
    expect(tryHopOutput(20_000n, { feeBps: 0, fixedFee: 0n, spreadBps: 0 }, 1n)).toEqual({ refused: 'zero_output' });
    expect(tryHopOutput(1n, { ...c, feeBps: 10_001 }, 1n)).toEqual({ refused: 'bad_input' });
    expect(() => hopOutput(5n, c, 1n)).toThrow(UnroutableAmount);
  });

  it('plans legs: sender to the first provider, provider to provider, last provider to the receiver', () => {
    const hop = (src: string, dst: string, provider: string) => ({ srcChain: src, srcAsset: `${src}/erc20:${T}`, dstChain: dst, dstAsset: `${dst}/erc20:${T}`, provider, pricing: c, rate: 10n ** 18n });
    const legs = planLegs(1_000_000n, [hop('eip155:1', 'eip155:2', A), hop('eip155:2', 'eip155:3', B)], T, '0x4444444444444444444444444444444444444444');
    const h1 = hopOutput(1_000_000n, c, 10n ** 18n).out;
    expect(legs.map((l) => [l.index, l.chain, l.amount, l.from, l.to])).toEqual([
      [0, 'eip155:1', 1_000_000n, T, A],
      [1, 'eip155:2', h1, A, B],
      [2, 'eip155:3', hopOutput(h1, c, 10n ** 18n).out, B, '0x4444444444444444444444444444444444444444'],
    ]);
  });
});

describe('errors', () => {
  it('names codes in snake_case of the contract error', () => {
    expect(snakeCase('StaleRate')).toBe('stale_rate');
    expect(snakeCase('NotOpen')).toBe('not_open');
    expect(new SettlementRejected('CorridorLimitExhausted', ['1'], 'x').code).toBe('corridor_limit_exhausted');
    expect(complianceFailure(4n)).toBe('not_controller');
  });
});
