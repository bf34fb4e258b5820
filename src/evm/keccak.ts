import { keccak256 } from 'ethers';
import { createKeccak } from 'hash-wasm';

let installing: Promise<void> | null = null;

/**
 * Puts hash-wasm's keccak-256 (WebAssembly) under ethers' `keccak256`, which
 * every id, address checksum, event topic, Merkle node and proof check of the
 * hub goes through. The pure-JS keccak ethers ships took 19 µs for 32 bytes and
 * 67 µs for a 500-byte message here, 3 µs and 7 µs after (test/bench/keccak),
 * and was the relayer's largest single CPU cost. The result is the same hash:
 * test/unit/keccak.test.ts checks it against @noble/hashes. Idempotent; called
 * where a long-running process starts (`startHub`, `startRelayerWorker`,
 * `qiao attestor start`; not the CLI's main, whose `--help` must stay light),
 * since WebAssembly is compiled asynchronously and hashing must stay synchronous.
 */
export function installFastKeccak(): Promise<void> {
  installing ??= createKeccak(256).then((hasher) => {
    // One hasher for the process: init/update/digest run without an await between them, so calls never interleave.
    keccak256.register((data: Uint8Array) => {
      hasher.init();
      hasher.update(data);
      return hasher.digest('binary');
    });
  });
  return installing;
}

/** keccak256 of bytes, as bytes (through ethers, so the installed implementation when there is one). */
export function keccakBytes(data: Uint8Array): Uint8Array {
  return Buffer.from(keccak256(data).slice(2), 'hex');
}
