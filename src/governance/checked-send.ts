import type { Interface, JsonRpcProvider, TransactionReceipt } from 'ethers';
import { ContractRevertError } from '../errors.ts';
import { customErrorDecoder, revertData, type TxSender } from '../evm/signer.ts';

export type ErrorDecoder = (data: string) => { name: string; args: unknown[] } | null;

/** Decodes revert data through the first ABI that knows the error (a council bubbles its target's errors). */
export function decoderOf(interfaces: readonly Interface[]): ErrorDecoder {
  const decoders = interfaces.map((i) => customErrorDecoder(i));
  return (data) => {
    for (const d of decoders) {
      const r = d(data);
      if (r) return r;
    }
    return null;
  };
}

/** The error a revert names, with its arguments, as a typed error (never matched by text). */
export function revertError(what: string, decode: ErrorDecoder, cause: unknown): ContractRevertError | null {
  const d = revertData(cause);
  const decoded = d ? decode(d) : null;
  if (!decoded) return null;
  return new ContractRevertError(decoded.name, `${what} reverted: ${decoded.name}(${decoded.args.map(String).join(', ')})`, {
    cause,
    data: { args: decoded.args.map(String) },
  });
}

/**
 * Simulates (estimateGas) and then sends: a custom-error revert surfaces, named,
 * before anything is signed.
 */
export async function sendChecked(provider: JsonRpcProvider, sender: TxSender, to: string, data: string, what: string, decode: ErrorDecoder): Promise<TransactionReceipt> {
  try {
    await provider.estimateGas({ from: sender.address, to, data });
  } catch (cause) {
    throw revertError(what, decode, cause) ?? cause;
  }
  return sender.send({ to, data }, decode);
}

/** Runs a call as `from` (e.g. the council) without sending: the target's own error names what is wrong. */
export async function simulateAs(provider: JsonRpcProvider, from: string, to: string, data: string, what: string, decode: ErrorDecoder): Promise<void> {
  try {
    await provider.call({ from, to, data });
  } catch (cause) {
    throw revertError(what, decode, cause) ?? cause;
  }
}
