import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { QiaoError } from '../../src/errors.ts';

export interface SentRemark {
  id: Hex;
  encoded: Hex;
  blockHash: Hex;
  txHash: Hex;
}

/**
 * Sends a Qiao message from a Substrate account: `system.remarkWithEvent` of
 * the frozen encoding, signed by the account the message names as `sender`
 * (the runtime's `Remarked` event carries the signer, and the verifier checks
 * it against `sender`). Resolves when the extrinsic is in a block and succeeded.
 */
export async function sendRemark(api: ApiPromise, signer: KeyringPair, message: Omit<QiaoMessage, 'sender'>): Promise<SentRemark> {
  const full: QiaoMessage = { ...message, sender: u8aToHex(signer.publicKey) as Hex };
  const encoded = encodeMessage(full);
  const id = messageId(encoded);
  const tx = api.tx.system!.remarkWithEvent!(encoded);
  return new Promise<SentRemark>((resolve, reject) => {
    let unsub: (() => void) | undefined;
    let done = false;
    const finish = () => {
      done = true;
      unsub?.();
    };
    tx.signAndSend(signer, { nonce: -1 }, (r) => {
      if (r.dispatchError) {
        finish();
        reject(new QiaoError('remark_failed', `remarkWithEvent failed: ${r.dispatchError.toString()}`));
      } else if (r.status.isInBlock || r.status.isFinalized) {
        finish();
        resolve({ id, encoded, blockHash: (r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized).toHex() as Hex, txHash: tx.hash.toHex() as Hex });
      } else if (r.isError) {
        finish();
        reject(new QiaoError('remark_failed', `remarkWithEvent: ${r.status.type}`));
      }
    })
      .then((u) => {
        // The status callback may have settled before the subscription handle arrived.
        if (done) u();
        else unsub = u;
      })
      .catch((cause: unknown) => reject(new QiaoError('remark_failed', 'remarkWithEvent was not accepted', { cause })));
  });
}
