import { assert, assertArgument, getAddress, getBigInt, getNumber, hexlify, isHexString, type LogParams, type TransactionReceiptParams } from 'ethers';

/*
 * ethers' formatters for receipts and logs (ethers 6, providers/format.js: the same fields, conversions, alternative
 * names, null handling and BAD_DATA errors), with one difference: an address already checksummed once is taken from
 * a cache. ethers checksums every log's address (a keccak each); a delivery receipt carries one log per message, all
 * from the same few contracts, and that was ~4% of a relayer worker's CPU at saturation.
 * test/unit/fast-format.test.ts compares the results with ethers' own on receipts and logs read from anvil.
 */

type Format = (v: unknown) => unknown;

const ADDRESS_CACHE_MAX = 4096;

function allowNull(f: Format, nullValue?: unknown): Format {
  return (v) => (v == null ? nullValue : f(v));
}

function arrayOf(f: Format): Format {
  return (a) => {
    if (!Array.isArray(a)) throw new Error('not an array');
    return a.map((x) => f(x));
  };
}

function object(format: Record<string, Format>, altNames: Record<string, string[]> = {}): (value: Record<string, unknown>) => Record<string, unknown> {
  const keys = Object.keys(format);
  return (value) => {
    const result: Record<string, unknown> = {};
    for (const key of keys) {
      let src = key;
      const alts = altNames[key];
      if (alts && !(src in value)) {
        for (const alt of alts) {
          if (alt in value) {
            src = alt;
            break;
          }
        }
      }
      try {
        const nv = format[key]!(value[src]);
        if (nv !== undefined) result[key] = nv;
      } catch (error) {
        const message = error instanceof Error ? error.message : 'not-an-error';
        assert(false, `invalid value for value.${key} (${message})`, 'BAD_DATA', { value });
      }
    }
    return result;
  };
}

function formatData(v: unknown): string {
  assertArgument(isHexString(v, true), 'invalid data', 'value', v);
  return v as string;
}

function formatHash(v: unknown): string {
  assertArgument(isHexString(v, 32), 'invalid hash', 'value', v);
  return v as string;
}

function formatBoolean(v: unknown): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  assertArgument(false, `invalid boolean; ${JSON.stringify(v)}`, 'value', v);
  return false;
}

const num = (v: unknown) => getNumber(v as string);
const big = (v: unknown) => getBigInt(v as string);

/** Receipt and log formatters sharing one cache of checksummed addresses. */
export function fastFormatters(): { receipt(value: unknown): TransactionReceiptParams; log(value: unknown): LogParams } {
  const checksummed = new Map<string, string>();
  const address: Format = (v) => {
    if (typeof v === 'string') {
      const hit = checksummed.get(v);
      if (hit !== undefined) return hit;
    }
    const a = getAddress(v as string);
    if (checksummed.size >= ADDRESS_CACHE_MAX) checksummed.clear();
    checksummed.set(v as string, a);
    return a;
  };
  const log = object(
    {
      address,
      blockHash: formatHash,
      blockNumber: num,
      data: formatData,
      index: num,
      removed: allowNull(formatBoolean, false),
      topics: arrayOf(formatHash),
      transactionHash: formatHash,
      transactionIndex: num,
    },
    { index: ['logIndex'] },
  );
  const receiptLog = object(
    {
      transactionIndex: num,
      blockNumber: num,
      transactionHash: formatHash,
      address,
      topics: arrayOf(formatHash),
      data: formatData,
      index: num,
      blockHash: formatHash,
    },
    { index: ['logIndex'] },
  );
  const receipt = object(
    {
      to: allowNull(address, null),
      from: allowNull(address, null),
      contractAddress: allowNull(address, null),
      index: num,
      root: allowNull((v) => hexlify(v as string)),
      gasUsed: big,
      blobGasUsed: allowNull(big, null),
      logsBloom: allowNull(formatData),
      blockHash: formatHash,
      hash: formatHash,
      logs: arrayOf((l) => receiptLog(l as Record<string, unknown>)),
      blockNumber: num,
      cumulativeGasUsed: big,
      effectiveGasPrice: allowNull(big),
      blobGasPrice: allowNull(big, null),
      status: allowNull(num),
      type: allowNull(num, 0),
    },
    { effectiveGasPrice: ['gasPrice'], hash: ['transactionHash'], index: ['transactionIndex'] },
  );
  return {
    receipt: (v) => receipt(v as Record<string, unknown>) as unknown as TransactionReceiptParams,
    log: (v) => log(v as Record<string, unknown>) as unknown as LogParams,
  };
}
