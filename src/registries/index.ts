import type { JsonRpcProvider } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { LaneFeeClient, type LaneFee } from '../governance/lane-fees.ts';
import type { RegistryArtifacts } from './artifacts.ts';
import { CreditClient } from './credit.ts';
import { IdentityClient } from './identity.ts';
import { IssuerClient } from './issuers.ts';
import type { Accreditation, CreditAttestation, Identity, RegistryAddresses, RegistryBlockTag } from './types.ts';
import { pinBlock } from './write.ts';

export { registryArtifacts, type RegistryArtifacts } from './artifacts.ts';
export { deployRegistries } from './deploy.ts';
export { IdentityClient, documentHashOf, type NewIdentity } from './identity.ts';
export { IssuerClient } from './issuers.ts';
export { CreditClient, commitPrivateData, schemaIdOf, type AttestInput, type DisputeAnswer, type SchemaInput } from './credit.ts';
export { decodePublicData, encodePublicData, checkPublicData, parsePublicFields } from './public-data.ts';
export { DID_PATTERN, didHash, newPairwiseDid, parseDid } from './did.ts';
export { validateKey, validateKeys, validateService, validateServices } from './validate.ts';
export type * from './types.ts';

/**
 * The three registry clients over one provider, plus the whole-registry reads
 * the snapshot builder needs. Pass a block number to the list reads: they make
 * several calls and must all see one state (`block('latest')` pins one).
 */
export class Registries {
  readonly identity: IdentityClient;
  readonly issuers: IssuerClient;
  readonly credit: CreditClient;
  /** null when the governance chain has no lane fee registry (yet). */
  readonly laneFees: LaneFeeClient | null;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly addresses: RegistryAddresses,
    artifacts: RegistryArtifacts,
  ) {
    this.identity = new IdentityClient(provider, addresses.identityRegistry, artifacts.IdentityRegistry);
    this.issuers = new IssuerClient(provider, addresses.issuerRegistry, artifacts.IssuerRegistry, (hash: Hex, tag: RegistryBlockTag) =>
      this.identity.contract.getFunction('didOf')(hash, { blockTag: tag }) as Promise<string>,
    );
    this.credit = new CreditClient(provider, addresses.creditRegistry, artifacts.CreditRegistry);
    this.laneFees = addresses.laneFeeRegistry ? new LaneFeeClient(provider, addresses.laneFeeRegistry) : null;
  }

  /** Number and timestamp of a block; named tags resolve to the block they name now. */
  block(tag: RegistryBlockTag = 'latest'): Promise<{ number: bigint; timestamp: bigint }> {
    return pinBlock(this.provider, tag);
  }

  listIdentities(blockTag: bigint | number): Promise<Identity[]> {
    return this.identity.list(blockTag);
  }

  listAccreditations(blockTag: bigint | number): Promise<Accreditation[]> {
    return this.issuers.list(blockTag);
  }

  listAttestations(blockTag: bigint | number): Promise<CreditAttestation[]> {
    return this.credit.list(blockTag);
  }

  listLaneFees(blockTag: bigint | number): Promise<LaneFee[]> {
    return this.laneFees ? this.laneFees.list(blockTag) : Promise.resolve([]);
  }
}

export function connectRegistries(provider: JsonRpcProvider, addresses: RegistryAddresses, artifacts: RegistryArtifacts): Registries {
  return new Registries(provider, addresses, artifacts);
}
