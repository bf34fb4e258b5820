// Builds the three chaincode packages for a peer: TypeScript compiled to CommonJS
// (fabric-chaincode-node require()s the package's main), then one folder per
// chaincode with its own package.json, ready for `peer lifecycle chaincode package`.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../../dist/fabric-chaincode');
const build = join(out, 'build');
const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const CHAINCODES = { qiaoport: 'port', qiaoreceiver: 'receiver', qiaoescrow: 'escrow' };

rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [resolve(here, '../../../node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const [name, folder] of Object.entries(CHAINCODES)) {
  const pkg = join(out, name);
  mkdirSync(pkg, { recursive: true });
  cpSync(join(build, 'shared'), join(pkg, 'shared'), { recursive: true });
  cpSync(join(build, folder), join(pkg, folder), { recursive: true });
  const json = {
    name,
    version: manifest.version,
    description: `Qiao ${name} chaincode`,
    license: manifest.license,
    main: `${folder}/index.js`,
    engines: manifest.engines,
    scripts: { start: 'fabric-chaincode-node start' },
    dependencies: manifest.dependencies,
  };
  writeFileSync(join(pkg, 'package.json'), JSON.stringify(json, null, 2) + '\n');
}
rmSync(build, { recursive: true, force: true });
console.log(`chaincode packages in ${out}: ${Object.keys(CHAINCODES).join(', ')}`);
