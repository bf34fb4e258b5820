import { join } from 'node:path';
import type { Hex } from '../../../src/domain/hex.ts';
import type { Logger } from '../../../src/logging.ts';
import { compressedPublicKey } from './keys.ts';
import { SoloSignatureRecord } from './record.ts';
import { SoloMachineSequencer } from './sequencer.ts';
import type { IbcVersion } from './sign-bytes.ts';
import { SoloAttestor } from './signer.ts';

/** The diversifier of every Qiao solo machine client. */
export const QIAO_DIVERSIFIER = 'qiao';

/** Names a solo client in records and journals: `cosmos:<chain-id>/<client id>`. */
export function soloClientKey(cometChainId: string, clientId: string): string {
  return `cosmos:${cometChainId}/${clientId}`;
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * The record file of an attestor key for one solo client, under a data folder: named by the key's
 * public key and the client, so every user of that key for that client finds the same (locked) file,
 * while the hub's sequencers of other chains never block `qiao cosmos connect` of a new one.
 * Entries are keyed by (client, sequence), so splitting files by client loses nothing.
 */
export function soloRecordFile(dataDir: string, attestorKey: Hex, clientKey: string): string {
  return join(dataDir, 'cosmos', 'solo', 'records', Buffer.from(compressedPublicKey(attestorKey)).toString('hex'), `${safe(clientKey)}.jsonl`);
}

/** The sequencer journal of one solo client under a data folder. */
export function soloJournalFile(dataDir: string, clientKey: string): string {
  return join(dataDir, 'cosmos', 'solo', 'journals', `${safe(clientKey)}.jsonl`);
}

/**
 * The sequencer of one solo client with its attestors' records, all under `dataDir`. Records and
 * journal are locked while open: close() releases them. Open ONE per client per process.
 */
export function openSoloSequencer(o: {
  dataDir: string;
  cometChainId: string;
  clientId: string;
  attestorKeys: readonly Hex[];
  threshold: number;
  ibcVersion: IbcVersion;
  logger: Logger;
}): { sequencer: SoloMachineSequencer; clientKey: string; close(): void } {
  const clientKey = soloClientKey(o.cometChainId, o.clientId);
  const records: SoloSignatureRecord[] = [];
  try {
    for (const k of o.attestorKeys) records.push(SoloSignatureRecord.open(soloRecordFile(o.dataDir, k, clientKey)));
    const attestors = o.attestorKeys.map((k, i) => new SoloAttestor(k, records[i]!));
    const sequencer = SoloMachineSequencer.open({
      file: soloJournalFile(o.dataDir, clientKey),
      clientKey,
      clientId: o.clientId,
      attestors,
      threshold: o.threshold,
      diversifier: QIAO_DIVERSIFIER,
      ibcVersion: o.ibcVersion,
      logger: o.logger,
    });
    return {
      sequencer,
      clientKey,
      close: () => {
        sequencer.close();
        for (const r of records) r.close();
      },
    };
  } catch (err) {
    for (const r of records) r.close();
    throw err;
  }
}
