import type { ErrorDescription, Interface } from 'ethers';

/** The revert data of a failed call, decoded through the given ABI (never by message text). */
export async function revertOf(iface: Interface, p: Promise<unknown>): Promise<ErrorDescription> {
  let data: unknown;
  try {
    await p;
  } catch (e) {
    data = (e as { data?: unknown }).data;
    if (typeof data !== 'string' || data.length < 10) throw e;
  }
  if (data === undefined) throw new Error('expected the call to revert, it succeeded');
  const parsed = iface.parseError(data as string);
  if (!parsed) throw new Error(`revert data ${String(data).slice(0, 10)} is not an error of this ABI`);
  return parsed;
}
