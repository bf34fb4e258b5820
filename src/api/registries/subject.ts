import type { Hex } from '../../domain/hex.ts';
import { QiaoError } from '../../errors.ts';
import type { Registries } from '../../registries/index.ts';

/**
 * The uids of every attestation about a subject, up to `toBlock`, from the
 * CreditRegistry's `Attested` events (subjectDidHash is an indexed topic), so a
 * subject's records are found without reading the whole registry.
 */
export async function attestationUidsOf(registries: Registries, subjectDidHash: Hex, toBlock: bigint): Promise<Hex[]> {
  const event = registries.credit.iface.getEvent('Attested');
  if (!event) throw new QiaoError('abi_mismatch', 'the CreditRegistry ABI has no Attested event');
  const logs = await registries.provider.getLogs({
    address: registries.addresses.creditRegistry,
    topics: [event.topicHash, null, null, subjectDidHash],
    fromBlock: 0,
    toBlock: Number(toBlock),
  });
  const seen = new Set<Hex>();
  for (const l of logs) seen.add(l.topics[1]!.toLowerCase() as Hex);
  return [...seen];
}
