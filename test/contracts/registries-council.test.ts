import { join } from 'node:path';
import { ContractFactory, keccak256, toBeHex, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRevertError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { CouncilClient, councilGovernance } from '../../src/governance/council.ts';
import { directGovernance, type GovernPath } from '../../src/governance/govern.ts';
import { CONTRACT_DIRS, compileSolidity } from '../../src/governance/solc.ts';
import { connectRegistries, deployRegistries, registryArtifacts, schemaIdOf, type Registries } from '../../src/registries/index.ts';

const CHAIN_ID = 7744n;
const keyOf = (label: string) => keccak256(toUtf8Bytes(`registries council test: ${label}`));

async function refusal(p: Promise<unknown>): Promise<ContractRevertError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContractRevertError);
  return err as ContractRevertError;
}

/** The registries with a one-member council as governor, as the hub deploys them. */
describe('registry governance through the council', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let reg: Registries;
  let member: TxSender;
  let outsider: TxSender;
  let viaCouncil: GovernPath;
  let council: CouncilClient;
  let issuerDid: string;

  beforeAll(async () => {
    const [registry, compiled] = await Promise.all([registryArtifacts(), compileSolidity([join(CONTRACT_DIRS.governance, 'Council.sol')])]);
    anvil = await startAnvil({ chainId: CHAIN_ID });
    provider = makeProvider(anvil.url, CHAIN_ID, { pollingMs: 50 });
    const deployer = new TxSender(ANVIL_DEV_KEY, provider);
    member = new TxSender(keyOf('member'), provider);
    outsider = new TxSender(keyOf('outsider'), provider);
    for (const s of [member, outsider]) await provider.send('anvil_setBalance', [s.address, toBeHex(10n ** 20n)]);
    const C = compiled.Council!;
    const c = await new ContractFactory(C.abi as never, C.bytecode, deployer.signer).deploy([member.address], 1, 1, 0, []);
    await c.waitForDeployment();
    const councilAddress = await c.getAddress();
    const addresses = await deployRegistries(deployer, councilAddress, registry);
    reg = connectRegistries(provider, addresses, registry);
    council = new CouncilClient(provider, councilAddress, C, { targets: [reg.identity.iface, reg.issuers.iface, reg.credit.iface] });
    viaCouncil = councilGovernance(council, member);
    issuerDid = (await reg.identity.create(member, { did: 'did:qiao:council-test.issuer' })).did;
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('registers a schema and accredits an issuer through a council proposal', async () => {
    const { schemaId, result } = await reg.credit.registerSchema(viaCouncil, {
      name: 'council.rating.v1',
      publicFields: ['string grade'],
      revocable: true,
      negative: false,
      retentionSeconds: 0,
      disputeWindowSeconds: 60,
    });
    expect(result.executed).toBe(true);
    expect(result.proposalId).toBeGreaterThan(0n);
    expect((await reg.credit.schema(schemaId))!.name).toBe('council.rating.v1');
    await reg.issuers.accredit(viaCouncil, issuerDid, schemaId, 0);
    expect(await reg.issuers.isAccredited(issuerDid, schemaId)).toBe(true);
    await reg.issuers.revoke(viaCouncil, issuerDid, schemaId);
    expect((await reg.issuers.accreditation(issuerDid, schemaId))!.status).toBe('revoked');
  });

  it('names the registry error before proposing, and leaves no proposal behind', async () => {
    const before = await council.proposalCount();
    const err = await refusal(reg.issuers.revoke(viaCouncil, issuerDid, schemaIdOf('council.rating.v1')));
    expect(err.errorName).toBe('NotAccredited');
    expect(await council.proposalCount()).toBe(before);
  });

  it('refuses a council member acting alone, and a non-member proposing', async () => {
    const schema = { name: 'council.rogue.v1', publicFields: [], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 60 };
    expect((await refusal(reg.credit.registerSchema(directGovernance(member), schema))).errorName).toBe('NotGovernor');
    expect((await refusal(reg.credit.registerSchema(councilGovernance(council, outsider), schema))).errorName).toBe('NotMember');
    expect(await reg.credit.schema(schemaIdOf(schema.name))).toBeNull();
  });
});
