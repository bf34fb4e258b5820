import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import type { SettlementHubClient } from '../../settlement/client.ts';
import { resolveApiUrl } from '../api-url.ts';
import { printJson, printTable, short } from '../output.ts';
import { registryOptions, type RegistryCli, type RegistryCliOptions } from './identity-cmd.ts';
import { governLine, governView, schemaRef } from './issuers-cmd.ts';
import { callHub } from './pay-cmd.ts';

type CorridorOpts = RegistryCliOptions & { api?: string; settlementHub?: string };

interface CorridorListView {
  settlementHub: string;
  corridors: { id: number; status: string; rate: string; rateUpdatedAt: string; liquidity: string; corridor: { srcAsset: string; dstAsset: string; provider: string; feeBps: number; fixedFee: string; spreadBps: number; minAmount: string; maxAmount: string; expectedSeconds: string } }[];
}

const UINT = /^[0-9]{1,78}$/;
const uint = (v: string, field: string): bigint => {
  if (!UINT.test(v)) throw new ValidationError(field, 'must be a non-negative integer (token units)');
  return BigInt(v);
};
const small = (v: string, field: string, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ValidationError(field, `must be an integer in 0..${max}`);
  return n;
};
const id = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new ValidationError('id', 'must be a corridor id (integer from 1)');
  return n;
};

/** A rate as a decimal ("0.92") or already scaled 1e18 ("920000000000000000" with --scaled). */
export function rateArg(v: string, scaled = false): bigint {
  if (scaled) return uint(v, 'rate');
  const m = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/.exec(v);
  if (!m) throw new ValidationError('rate', 'must be a decimal with at most 18 places, e.g. 0.92');
  const r = BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0'));
  if (r === 0n) throw new ValidationError('rate', 'must be positive');
  return r;
}

const chainOptions = (cmd: Command) =>
  registryOptions(cmd)
    .option('--api <url>', 'hub API, to find SettlementHub (default: the hub of --data-dir)')
    .option('--settlement-hub <address>', 'SettlementHub address (default: asked from the hub API)');

/** Runs `f` with a SettlementHub client on the governance chain of the hub. */
async function withHub<T>(o: CorridorOpts, f: (hub: SettlementHubClient, r: RegistryCli) => Promise<T>): Promise<T> {
  const address = o.settlementHub ?? (await callHub<CorridorListView>(await resolveApiUrl({ api: o.api, dataDir: o.dataDir }), 'GET', 'corridors')).settlementHub;
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ValidationError('settlement-hub', 'must be an EVM address');
  const [{ connectRegistryCli }, { SettlementHubClient: Client }, { settlementArtifacts }] = await Promise.all([import('./identity-cmd.ts'), import('../../settlement/client.ts'), import('../../settlement/artifacts.ts')]);
  const r = await connectRegistryCli(o);
  try {
    return await f(new Client(r.provider, address, (await settlementArtifacts()).SettlementHub), r);
  } finally {
    r.close();
  }
}

export function registerCorridors(program: Command): void {
  const corridors = program.command('corridors').description('settlement corridors on SettlementHub: propose, rate, approve, list');

  corridors
    .command('list')
    .description('every corridor with status, rate and the provider pool (through the hub API)')
    .option('--api <url>', 'hub API (default: the hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (o: { api?: string; dataDir?: string; json?: boolean }) => {
      const v = await callHub<CorridorListView>(await resolveApiUrl(o), 'GET', 'corridors');
      if (o.json) return printJson(v);
      printTable(
        v.corridors.map((c) => ({
          id: c.id,
          status: c.status,
          from: c.corridor.srcAsset,
          to: c.corridor.dstAsset,
          provider: short(c.corridor.provider, 12),
          rate: (Number(c.rate) / 1e18).toString(),
          fees: `${c.corridor.fixedFee} + ${c.corridor.feeBps} bps, spread ${c.corridor.spreadBps} bps`,
          liquidity: c.liquidity,
        })),
        ['id', 'status', 'from', 'to', 'provider', 'rate', 'fees', 'liquidity'],
      );
    });

  chainOptions(
    corridors
      .command('add')
      .description('propose a corridor; signed by the provider key (--key-file / QIAO_KEY), which becomes its provider')
      .requiredOption('--from-asset <caip19>', 'source asset, eip155:<id>/erc20:0x<lowercase>')
      .requiredOption('--to-asset <caip19>', 'destination asset')
      .requiredOption('--min <units>', 'minimum input')
      .requiredOption('--max <units>', 'maximum input')
      .option('--fee-bps <n>', 'proportional fee', '0')
      .option('--fixed-fee <units>', 'fixed fee in source units', '0')
      .option('--spread-bps <n>', 'FX spread', '0')
      .option('--fx-source <text>', 'where the rate comes from (shown only)', 'provider')
      .option('--bucket <capacity:refillPerSecond>', 'corridor limit bucket', '1000000000000000:1000000000')
      .option('--entity-bucket <capacity:refillPerSecond>', 'per-entity limit bucket', '1000000000000000:1000000000')
      .option('--sender-schema <nameOrId...>', 'sender must hold a valid attestation of ANY of these')
      .option('--receiver-schema <nameOrId...>', 'receiver must hold a valid attestation of ANY of these')
      .option('--expected-seconds <n>', 'expected settlement time', '60'),
  ).action(async (o: CorridorOpts & Record<string, string | string[] | undefined>) => {
    const asset = (v: unknown, field: string) => {
      if (typeof v !== 'string' || !/^eip155:[0-9]{1,20}\/erc20:0x[0-9a-f]{40}$/.test(v)) throw new ValidationError(field, 'must be eip155:<id>/erc20:0x<40 lowercase hex>');
      return v;
    };
    const bucket = (v: unknown, field: string): [bigint, bigint] => {
      const m = typeof v === 'string' ? /^([0-9]{1,78}):([0-9]{1,78})$/.exec(v) : null;
      if (!m) throw new ValidationError(field, 'must be <capacity>:<refillPerSecond>');
      return [BigInt(m[1]!), BigInt(m[2]!)];
    };
    const srcAsset = asset(o.fromAsset, 'from-asset');
    const dstAsset = asset(o.toAsset, 'to-asset');
    const [bucketCapacity, bucketRefillPerSecond] = bucket(o.bucket, 'bucket');
    const [entityCapacity, entityRefillPerSecond] = bucket(o.entityBucket, 'entity-bucket');
    const senderSchemas = await Promise.all(((o.senderSchema as string[] | undefined) ?? []).map((s) => schemaRef(s, 'sender-schema')));
    const receiverSchemas = await Promise.all(((o.receiverSchema as string[] | undefined) ?? []).map((s) => schemaRef(s, 'receiver-schema')));
    await withHub(o, async (hub, r) => {
      const signer = await r.signer();
      const { id: newId } = await hub.proposeCorridor(signer, {
        srcChain: srcAsset.slice(0, srcAsset.indexOf('/')),
        srcAsset,
        dstChain: dstAsset.slice(0, dstAsset.indexOf('/')),
        dstAsset,
        provider: signer.address,
        feeBps: small(String(o.feeBps), 'fee-bps', 10_000),
        fixedFee: uint(String(o.fixedFee), 'fixed-fee'),
        spreadBps: small(String(o.spreadBps), 'spread-bps', 10_000),
        fxSource: String(o.fxSource),
        minAmount: uint(String(o.min), 'min'),
        maxAmount: uint(String(o.max), 'max'),
        bucketCapacity,
        bucketRefillPerSecond,
        entityCapacity,
        entityRefillPerSecond,
        senderSchemas,
        receiverSchemas,
        expectedSeconds: BigInt(small(String(o.expectedSeconds), 'expected-seconds', 365 * 86400)),
      });
      if (o.json) return printJson({ id: newId, provider: signer.address });
      console.log(`corridor ${newId} proposed by ${signer.address}; set its rate (qiao corridors rate ${newId} <rate>) and have governance approve it (qiao corridors approve ${newId})`);
    });
  });

  chainOptions(corridors.command('rate <id> <rate>').description("set a corridor's FX rate (destination per source unit); signed by its provider").option('--scaled', 'the rate is already scaled 1e18')).action(
    async (idArg: string, rateText: string, o: CorridorOpts & { scaled?: boolean }) => {
      const cid = id(idArg);
      const rate = rateArg(rateText, o.scaled);
      await withHub(o, async (hub, r) => {
        const receipt = await hub.setRate(await r.signer(), cid, rate);
        if (o.json) return printJson({ id: cid, rate, txHash: receipt.hash });
        console.log(`corridor ${cid} rate ${rate} (1e18 scale), tx ${receipt.hash}`);
      });
    },
  );

  for (const [name, verb] of [
    ['approve', 'approveCorridor'],
    ['suspend', 'suspendCorridor'],
  ] as const) {
    chainOptions(corridors.command(`${name} <id>`).description(`${name} a corridor (governance: your key, or the hub governor key through the council)`)).action(async (idArg: string, o: CorridorOpts) => {
      const cid = id(idArg);
      await withHub(o, async (hub, r) => {
        const res = await hub[verb](await r.governance(), cid);
        if (o.json) return printJson({ id: cid, ...governView(res) });
        console.log(`corridor ${cid} ${name}: ${governLine(res)}`);
      });
    });
  }
}
