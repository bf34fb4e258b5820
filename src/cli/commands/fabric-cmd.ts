import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';

interface ImportOptions {
  chain: string;
  msp: string;
  cert: string;
  key: string;
  dataDir?: string;
}

async function readPem(file: string, field: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new ValidationError(field, `cannot read ${file}`, { cause });
  }
}

export function registerFabric(program: Command): void {
  const fabric = program.command('fabric').description('Hyperledger Fabric member chains');
  const identity = fabric.command('identity').description("the hub's client identity on a Fabric network");
  identity
    .command('import')
    .description("store the X.509 identity (certificate + P-256 key of a client of one organisation) the hub uses on a Fabric chain")
    .requiredOption('--chain <chainId>', 'the chain id, fabric:<network>_<channel>')
    .requiredOption('--msp <mspId>', "the identity's organisation (MSP id), e.g. Org1MSP")
    .requiredOption('--cert <file>', 'PEM certificate file (signcerts/cert.pem)')
    .requiredOption('--key <file>', 'PEM private key file (keystore/*_sk)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .action(async (o: ImportOptions) => {
      const { parseFabricChainId } = await import('../../../adapters/fabric/chain-id.ts');
      const { writeFabricIdentity } = await import('../../../adapters/fabric/identity.ts');
      parseFabricChainId(o.chain, 'chain');
      const dataDir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
      const certificate = await readPem(o.cert, 'cert');
      const privateKey = await readPem(o.key, 'key');
      // The folder the hub gives its adapters (src/main/hub.ts): the Fabric adapter reads the identity there.
      const file = await writeFabricIdentity(join(dataDir, 'adapters'), o.chain, { mspId: o.msp, certificate, privateKey });
      // Only where it went and who it is: never the key.
      console.log(JSON.stringify({ chainId: o.chain, mspId: o.msp, file }, null, 2));
    });
}
