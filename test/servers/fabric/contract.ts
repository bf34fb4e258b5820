/**
 * Runs a fabric-contract-api Contract instance as a model-network chaincode,
 * the way fabric-shim's ChaincodeFromContract dispatches: `name:fn` or `fn`,
 * beforeTransaction / afterTransaction / unknownTransaction hooks, string
 * arguments, and the return value serialized like JSONSerializer (primitives
 * as their string, objects as JSON, Buffers as they are).
 */
import { createRequire } from 'node:module';
import type { Chaincode, ChaincodeResponse, SimStub } from './stub.ts';

interface ContractLike {
  getName?(): string;
  createContext?(): { setChaincodeStub(s: unknown): void; setClientIdentity(c: unknown): void };
  beforeTransaction?(ctx: unknown): Promise<void> | void;
  afterTransaction?(ctx: unknown, result: unknown): Promise<void> | void;
  unknownTransaction?(ctx: unknown): Promise<unknown> | unknown;
}

type ClientIdentityCtor = new (stub: unknown) => unknown;

function loadClientIdentity(): ClientIdentityCtor | null {
  try {
    return (createRequire(import.meta.url)('fabric-shim') as { ClientIdentity: ClientIdentityCtor }).ClientIdentity;
  } catch {
    return null;
  }
}

function toBytes(result: unknown): Uint8Array {
  if (result === undefined || result === null) return new Uint8Array(0);
  if (result instanceof Uint8Array) return result;
  if (typeof result === 'string' || typeof result === 'number' || typeof result === 'boolean') return Buffer.from(String(result));
  return Buffer.from(JSON.stringify(result));
}

export function contractChaincode(contract: object, { endorsementPolicy }: Pick<Chaincode, 'endorsementPolicy'> = {}): Chaincode {
  const c = contract as ContractLike & Record<string, unknown>;
  const ClientIdentity = loadClientIdentity();
  return {
    endorsementPolicy,
    async invoke(stub: SimStub, fn: string, args: string[]): Promise<ChaincodeResponse> {
      const name = fn.includes(':') ? fn.slice(fn.lastIndexOf(':') + 1) : fn;
      const ctx = c.createContext ? c.createContext() : { setChaincodeStub() {}, setClientIdentity() {} };
      ctx.setChaincodeStub(stub);
      ctx.setClientIdentity(ClientIdentity ? new ClientIdentity(stub) : null);
      try {
        await c.beforeTransaction?.(ctx);
        const method = c[name];
        let result: unknown;
        if (typeof method === 'function' && !name.startsWith('_') && name !== 'constructor' && !['beforeTransaction', 'afterTransaction', 'unknownTransaction', 'createContext', 'getName'].includes(name)) {
          result = await (method as (...a: unknown[]) => unknown).call(c, ctx, ...args);
        } else if (c.unknownTransaction) {
          result = await c.unknownTransaction(ctx);
        } else {
          return { status: 500, message: `You've asked to invoke a function that does not exist: ${name}` };
        }
        await c.afterTransaction?.(ctx, result);
        return { status: 200, payload: toBytes(result) };
      } catch (e) {
        return { status: 500, message: e instanceof Error ? e.message : String(e) };
      }
    },
  };
}
