/**
 * Generator of test/golden/message-vectors.json, the cross-implementation
 * golden vectors of DESIGN.md "Frozen formats" (message encoding and id,
 * attestation EIP-712 digest and signature, batch Merkle trees).
 *
 *   npx tsx test/golden/generate.ts          # (re)writes message-vectors.json
 *
 * The output is deterministic (fixed inputs, RFC 6979 signatures), so running
 * it again must give a byte-identical file; golden.test.ts checks that, which
 * makes any change of format show up as a diff of the checked-in file in review.
 *
 * The expected values are derived here from the specification with primitives
 * (ABI coder, keccak256, hand-built EIP-712 hashing, OpenZeppelin's
 * StandardMerkleTree), deliberately not through src/domain, so the tests of
 * src/domain are not checking the code against itself.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { AbiCoder, SigningKey, computeAddress, concat, getAddress, hexlify, keccak256, toUtf8Bytes } from 'ethers';

export const GOLDEN_FILE = join(dirname(fileURLToPath(import.meta.url)), 'message-vectors.json');

type Hex = `0x${string}`;

/** A message in the JSON-safe form of src/domain/message.ts (uint64 as decimal strings). */
export interface GoldenMessageFields {
  version: number;
  srcChain: string;
  srcPort: Hex;
  sender: Hex;
  dstChain: string;
  dstPort: Hex;
  receiver: Hex;
  nonce: string;
  gasLimit: string;
  timeoutHeight: string;
  timeoutUnixSeconds: string;
  payload: Hex;
}

export interface GoldenMessageCase {
  name: string;
  description: string;
  message: GoldenMessageFields;
  encoded: Hex;
  id: Hex;
}

export interface GoldenSignature {
  privateKey: Hex;
  signer: string;
  signature: Hex;
}

export interface GoldenAttestationCase {
  name: string;
  description: string;
  domain: { name: 'Qiao'; version: '1'; chainId: string; verifyingContract: string };
  attestation: { rootType: number; setId: string; batchNo: string; root: Hex };
  domainSeparator: Hex;
  structHash: Hex;
  digest: Hex;
  signatures: GoldenSignature[];
}

export interface GoldenMerkleCase {
  name: string;
  description: string;
  ids: Hex[];
  root: Hex;
  proofs: { id: Hex; leaf: Hex; proof: Hex[] }[];
  multiproofs: { ids: Hex[]; leaves: Hex[]; proof: Hex[]; proofFlags: boolean[] }[];
}

export interface GoldenVectors {
  format: 'qiao-golden-vectors';
  formatVersion: 1;
  generator: string;
  notes: string[];
  messages: GoldenMessageCase[];
  attestations: GoldenAttestationCase[];
  merkle: GoldenMerkleCase[];
}

const coder = AbiCoder.defaultAbiCoder();
const U64_MAX = ((1n << 64n) - 1n).toString();

// Written out again from DESIGN.md rather than imported, see the header.
const MESSAGE_TYPES = ['uint8', 'string', 'bytes', 'bytes', 'string', 'bytes', 'bytes', 'uint64', 'uint64', 'uint64', 'uint64', 'bytes'];

function tag(label: string): Hex {
  return keccak256(toUtf8Bytes(label)) as Hex;
}

/** A stand-in 20-byte EVM address, derived from a label so the file explains itself. */
function addr20(label: string): Hex {
  return `0x${tag(label).slice(-40)}` as Hex;
}

function utf8(s: string): Hex {
  return hexlify(toUtf8Bytes(s)) as Hex;
}

function patternBytes(length: number, seed: number): Hex {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + (i >> 8) + seed) & 0xff;
  return hexlify(b) as Hex;
}

function messageInputs(): { name: string; description: string; message: GoldenMessageFields }[] {
  const base = {
    version: 1,
    srcChain: 'eip155:1',
    srcPort: addr20('qiao golden: port on eip155:1'),
    sender: addr20('qiao golden: sender on eip155:1'),
    dstChain: 'eip155:10',
    dstPort: addr20('qiao golden: port on eip155:10'),
    receiver: addr20('qiao golden: receiver on eip155:10'),
    nonce: '1',
    gasLimit: '200000',
    timeoutHeight: '0',
    timeoutUnixSeconds: '0',
    payload: '0x' as Hex,
  };
  return [
    {
      name: 'evm-empty-payload',
      description: 'EVM to EVM, 20-byte ports and accounts, empty payload, no timeouts (0 = none)',
      message: { ...base },
    },
    {
      name: 'evm-ascii-payload-with-timeouts',
      description: 'EVM to EVM, short ASCII payload, both timeouts set',
      message: {
        ...base,
        nonce: '42',
        timeoutHeight: '19000000',
        timeoutUnixSeconds: '1767225600',
        payload: utf8('hello from qiao'),
      },
    },
    {
      name: 'max-uint64-fields',
      description: 'every uint64 field at 2^64-1',
      message: { ...base, nonce: U64_MAX, gasLimit: U64_MAX, timeoutHeight: U64_MAX, timeoutUnixSeconds: U64_MAX, payload: '0x00' },
    },
    {
      name: 'payload-word-boundary-32',
      description: 'payload of exactly one 32-byte word (no padding)',
      message: { ...base, nonce: '2', payload: patternBytes(32, 1) },
    },
    {
      name: 'payload-word-boundary-33',
      description: 'payload of 33 bytes (one byte into a second, zero-padded word), with 0x00 and 0xff bytes',
      message: { ...base, nonce: '3', payload: `0x00${'ff'.repeat(31)}00` as Hex },
    },
    {
      name: 'payload-64kib',
      description: 'payload at the 64 KiB limit (65536 bytes, byte i = (31*i + floor(i/256) + 7) mod 256)',
      message: { ...base, nonce: '4', gasLimit: '1000000', payload: patternBytes(64 * 1024, 7) },
    },
    {
      name: 'cosmos-to-evm-32-byte-port-and-sender',
      description: 'Cosmos source: 32-byte port (module account) and 32-byte sender (CosmWasm contract), EVM destination',
      message: {
        ...base,
        srcChain: 'cosmos:cosmoshub-4',
        srcPort: tag('qiao golden: cosmos port module account'),
        sender: tag('qiao golden: cosmwasm sender contract'),
        dstChain: 'eip155:1',
        dstPort: addr20('qiao golden: port on eip155:1'),
        receiver: addr20('qiao golden: receiver on eip155:1'),
        nonce: '7',
        timeoutUnixSeconds: '1767225600',
        payload: utf8('{"transfer":{"amount":"1000","denom":"uatom"}}'),
      },
    },
    {
      name: 'substrate-to-fabric-long-chain-ids',
      description: 'polkadot genesis-hash reference (32 characters) to a Fabric network_channel; 32-byte AccountId32 sender; Fabric port and receiver as UTF-8 names',
      message: {
        ...base,
        srcChain: 'polkadot:91b171bb158e2d3848fa23a9f1c25182',
        srcPort: tag('qiao golden: substrate pallet account'),
        sender: tag('qiao golden: substrate AccountId32 sender'),
        dstChain: 'fabric:net1_channel1',
        dstPort: utf8('qiao-port'),
        receiver: utf8('trade-finance'),
        nonce: '1000000',
        gasLimit: '0',
        timeoutHeight: '123456',
        payload: patternBytes(100, 99),
      },
    },
    {
      name: 'caip2-character-set-extremes',
      description: '8-character namespace, 32-character reference using every CAIP-2 reference character class; chain id above 2^53',
      message: {
        ...base,
        srcChain: 'eip155:9007199254740993',
        dstChain: 'abcdefgh:Z09-_zyxwvutsrqponmlkjihgfedcbaA',
        dstPort: tag('qiao golden: port on the long chain id'),
        receiver: tag('qiao golden: receiver on the long chain id'),
        nonce: '9007199254740993',
        payload: utf8('edge'),
      },
    },
  ];
}

function encode(m: GoldenMessageFields): Hex {
  return coder.encode(MESSAGE_TYPES, [
    m.version,
    m.srcChain,
    m.srcPort,
    m.sender,
    m.dstChain,
    m.dstPort,
    m.receiver,
    BigInt(m.nonce),
    BigInt(m.gasLimit),
    BigInt(m.timeoutHeight),
    BigInt(m.timeoutUnixSeconds),
    m.payload,
  ]) as Hex;
}

const DOMAIN_TYPEHASH = tag('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)');
const ATTESTATION_TYPEHASH = tag('Attestation(uint8 rootType,uint64 setId,uint64 batchNo,bytes32 root)');

/** Fixed test keys; never used outside tests. */
export const GOLDEN_KEYS: Hex[] = [1, 2, 3].map((i) => tag(`qiao golden: attestor key ${i}`));

function attestationCase(
  name: string,
  description: string,
  chainId: bigint,
  verifyingContract: string,
  a: { rootType: number; setId: bigint; batchNo: bigint; root: Hex },
  keys: Hex[],
): GoldenAttestationCase {
  const contract = getAddress(verifyingContract.toLowerCase());
  const domainSeparator = keccak256(
    coder.encode(['bytes32', 'bytes32', 'bytes32', 'uint256', 'address'], [DOMAIN_TYPEHASH, tag('Qiao'), tag('1'), chainId, contract]),
  ) as Hex;
  const structHash = keccak256(
    coder.encode(['bytes32', 'uint8', 'uint64', 'uint64', 'bytes32'], [ATTESTATION_TYPEHASH, a.rootType, a.setId, a.batchNo, a.root]),
  ) as Hex;
  const digest = keccak256(concat(['0x1901', domainSeparator, structHash])) as Hex;
  return {
    name,
    description,
    domain: { name: 'Qiao', version: '1', chainId: chainId.toString(), verifyingContract: contract },
    attestation: { rootType: a.rootType, setId: a.setId.toString(), batchNo: a.batchNo.toString(), root: a.root },
    domainSeparator,
    structHash,
    digest,
    signatures: keys.map((privateKey) => {
      const key = new SigningKey(privateKey);
      return { privateKey, signer: computeAddress(key.publicKey), signature: key.sign(digest).serialized as Hex };
    }),
  };
}

function merkleCase(name: string, description: string, ids: Hex[], multiproofIndexSets: number[][]): GoldenMerkleCase {
  const tree = StandardMerkleTree.of(
    ids.map((id) => [id]),
    ['bytes32'],
  );
  const indexOf = new Map<string, number>();
  for (const [i, [id]] of tree.entries()) indexOf.set(id as string, i);
  const at = (id: Hex) => indexOf.get(id)!;
  return {
    name,
    description,
    ids,
    root: tree.root as Hex,
    proofs: ids.map((id) => ({ id, leaf: tree.leafHash([id]) as Hex, proof: tree.getProof(at(id)) as Hex[] })),
    multiproofs: multiproofIndexSets.map((set) => {
      const chosen = set.map((i) => ids[i]!);
      const mp = tree.getMultiProof(chosen.map(at));
      return { ids: chosen, leaves: mp.leaves.map(([x]) => x as Hex), proof: mp.proof as Hex[], proofFlags: mp.proofFlags };
    }),
  };
}

/** Builds the whole vector set from the fixed inputs above. Pure and deterministic. */
export function buildGoldenVectors(): GoldenVectors {
  const messages: GoldenMessageCase[] = messageInputs().map(({ name, description, message }) => {
    const encoded = encode(message);
    return { name, description, message, encoded, id: keccak256(encoded) as Hex };
  });
  const ids = messages.map((m) => m.id);
  const merkle = [
    merkleCase('single-message', 'a batch of one: the root is the leaf hash and the proof is empty', [ids[0]!], [[0]]),
    merkleCase('two-messages', 'a batch of two', [ids[1]!, ids[2]!], [[0, 1], [1]]),
    merkleCase('all-messages', `all ${ids.length} message ids (not a power of two)`, ids, [
      [0, 3, 5],
      [8, 1],
      ids.map((_, i) => i),
    ]),
  ];
  const messagesRoot = merkle[2]!.root;
  const k = GOLDEN_KEYS;
  const attestations = [
    attestationCase(
      'messages-root',
      'root type 1 (messages) over the all-messages tree, governance chain 7741',
      7741n,
      '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      { rootType: 1, setId: 1n, batchNo: 1n, root: messagesRoot },
      [k[0]!, k[1]!, k[2]!],
    ),
    attestationCase(
      'registry-snapshot-max-fields',
      'root type 2 (registry snapshot), setId and batchNo at 2^64-1, chain id above 2^64',
      (1n << 64n) + 1n,
      '0xffffffffffffffffffffffffffffffffffffffff',
      { rootType: 2, setId: (1n << 64n) - 1n, batchNo: (1n << 64n) - 1n, root: tag('qiao golden: registry snapshot') },
      [k[1]!],
    ),
    attestationCase(
      'attestor-set-zero-fields',
      'root type 3 (attestor set), setId 0, batchNo 0, zero root',
      1n,
      '0x0000000000000000000000000000000000000001',
      { rootType: 3, setId: 0n, batchNo: 0n, root: `0x${'00'.repeat(32)}` },
      [k[2]!],
    ),
  ];
  return {
    format: 'qiao-golden-vectors',
    formatVersion: 1,
    generator: 'test/golden/generate.ts (npx tsx test/golden/generate.ts); regenerating must give this exact file',
    notes: [
      'message: abi.encode(uint8 version, string srcChain, bytes srcPort, bytes sender, string dstChain, bytes dstPort, bytes receiver, uint64 nonce, uint64 gasLimit, uint64 timeoutHeight, uint64 timeoutUnixSeconds, bytes payload); id = keccak256(encoded)',
      'uint64 values are decimal strings; byte strings are lowercase 0x-hex',
      'attestation: EIP-712, domain {name "Qiao", version "1", chainId, verifyingContract}, type Attestation(uint8 rootType,uint64 setId,uint64 batchNo,bytes32 root); signatures are 65-byte r||s||v with v in {27, 28} (RFC 6979, low s)',
      'merkle: OpenZeppelin StandardMerkleTree with leaf encoding [bytes32 id]: leaf = keccak256(keccak256(abi.encode(id))), sorted pairs; multiproof leaves are ids in the order the verifier consumes them',
    ],
    messages,
    attestations,
    merkle,
  };
}

export function renderGoldenFile(v: GoldenVectors = buildGoldenVectors()): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = renderGoldenFile();
  writeFileSync(GOLDEN_FILE, text);
  console.log(`wrote ${GOLDEN_FILE} (${text.length} bytes, sha256 ${sha256Hex(text)})`);
}
