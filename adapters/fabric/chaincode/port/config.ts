import { getAddress } from 'ethers';
import { z } from 'zod';
import { hexUtf8 } from '../shared/abi.ts';
import { ChaincodeError } from '../shared/errors.ts';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/).transform((a) => getAddress(a));
const hex = z.string().regex(/^0x(?:[0-9a-fA-F]{2})+$/).transform((h) => h.toLowerCase());
const caip2 = z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/);

export const portConfigSchema = z
  .object({
    /** This channel's CAIP-2 id, `fabric:<network>_<channel>`. */
    chainId: caip2.refine((c) => c.startsWith('fabric:'), 'must be fabric:<network>_<channel>'),
    /** hex of UTF-8 "<channel>/<chaincode>". */
    port: hex,
    /** The governance chain's numeric EVM chain id (EIP-712 domain). */
    govChainId: z.union([z.string().regex(/^[1-9][0-9]*$/), z.number().int().positive().transform(String)]),
    /** The governance chain's CAIP-2 id; default eip155:<govChainId>. */
    govChain: caip2.optional(),
    messageLog: address,
    attestorSet: z.object({
      setId: z.union([z.string().regex(/^[1-9][0-9]{0,19}$/), z.number().int().positive().transform(String)]),
      threshold: z.number().int().positive(),
      members: z.array(address).min(1).max(64),
    }),
    /** The hub's timeout authority: the EOA whose messages on the governance chain's QiaoPort are cancel orders (their Qiao sender). */
    timeoutAuthority: hex,
    /**
     * The governance chain's QiaoPort (the srcPort of cancel orders). Optional so ports configured before cancel
     * orders still load; without it the port recognises no cancel order and nothing it holds ever times out.
     */
    govPort: address.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.attestorSet.threshold > c.attestorSet.members.length) ctx.addIssue({ code: 'custom', path: ['attestorSet', 'threshold'], message: 'exceeds the members' });
    if (new Set(c.attestorSet.members).size !== c.attestorSet.members.length) ctx.addIssue({ code: 'custom', path: ['attestorSet', 'members'], message: 'duplicate member' });
    const p = hexUtf8(c.port)?.split('/');
    if (p?.length !== 2 || !p[0] || !p[1]) ctx.addIssue({ code: 'custom', path: ['port'], message: 'must be hex of UTF-8 "<channel>/<chaincode>"' });
  })
  .transform((c) => {
    const [channel, chaincode] = hexUtf8(c.port)!.split('/') as [string, string];
    return { ...c, govChain: c.govChain ?? `eip155:${c.govChainId}`, channel, chaincode };
  });

export type PortConfig = z.output<typeof portConfigSchema>;

export function parsePortConfig(json: string): PortConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ChaincodeError('bad_config', 'config is not JSON', { cause });
  }
  const r = portConfigSchema.safeParse(raw);
  if (!r.success) throw new ChaincodeError('bad_config', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}
