/** The test double must behave as a peer does, or the chaincode tests prove nothing about Fabric. */
import { Contract, type Context } from 'fabric-contract-api';
import { describe, expect, it } from 'vitest';
import { decodeInvocationSpec } from '../../adapters/fabric/chaincode/shared/proto.ts';
import { outerInvocation } from '../../adapters/fabric/chaincode/shared/tx.ts';
import { FabricChannel, TxFailed } from './fabric-stub.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

class Counter extends Contract {
  constructor() {
    super('counter');
  }
  /** Writes then reads the same key: Fabric returns the committed value. */
  async bumpTwice(ctx: Context): Promise<string> {
    const read = async () => Number(dec.decode(await ctx.stub.getState('n')) || '0');
    await ctx.stub.putState('n', enc.encode(String((await read()) + 1)));
    await ctx.stub.putState('n', enc.encode(String((await read()) + 1)));
    ctx.stub.setEvent('first', enc.encode('1'));
    ctx.stub.setEvent('second', enc.encode('2'));
    return String(await read());
  }
  async writeThenFail(ctx: Context): Promise<void> {
    await ctx.stub.putState('n', enc.encode('99'));
    throw new Error('refused');
  }
  async read(ctx: Context): Promise<string> {
    return dec.decode(await ctx.stub.getState('n'));
  }
  async callee(ctx: Context, fn: string): Promise<string> {
    const r = await ctx.stub.invokeChaincode('counter2', [fn], ctx.stub.getChannelID());
    return JSON.stringify({ status: r.status, message: r.message ?? '', outer: outerInvocation(ctx.stub) });
  }
  async _hidden(): Promise<string> {
    return 'no';
  }
}

class Loop extends Contract {
  constructor() {
    super('loop');
  }
  async back(ctx: Context): Promise<string> {
    await ctx.stub.invokeChaincode('counter', ['read'], ctx.stub.getChannelID());
    return 'unreachable';
  }
  async twice(ctx: Context): Promise<string> {
    const a = await ctx.stub.invokeChaincode('counter', ['read'], ctx.stub.getChannelID());
    const b = await ctx.stub.invokeChaincode('counter', ['read'], ctx.stub.getChannelID());
    return `${a.status},${b.status}`;
  }
}

describe('fabric test double', () => {
  const id = { mspId: 'Org1MSP', certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' };

  it('reads committed state only, keeps the last write, and the last event', async () => {
    const net = new FabricChannel('ch');
    net.install('counter', new Counter());
    const r = await net.submit(id, 'counter', 'bumpTwice');
    expect(r.text).toBe('0');
    expect(r.event?.name).toBe('second');
    expect(await net.evaluate(id, 'counter', 'read')).toBe('1');
  });

  it('drops the writes of a failed transaction and keeps a failed callee\'s writes in a committed one', async () => {
    const net = new FabricChannel('ch');
    net.install('counter', new Counter());
    net.install('counter2', new Counter());
    await expect(net.submit(id, 'counter', 'writeThenFail')).rejects.toBeInstanceOf(TxFailed);
    expect(await net.evaluate(id, 'counter', 'read')).toBe('');
    const r = await net.submit(id, 'counter', 'callee', 'writeThenFail');
    expect(JSON.parse(r.text)).toMatchObject({ status: 500, message: 'refused', outer: { chaincode: 'counter', args: ['callee', 'writeThenFail'] } });
    expect(await net.evaluate(id, 'counter2', 'read')).toBe('99');
  });

  it('loses a called chaincode\'s events and refuses unknown or private functions', async () => {
    const net = new FabricChannel('ch');
    net.install('counter', new Counter());
    net.install('counter2', new Counter());
    const r = await net.submit(id, 'counter', 'callee', 'bumpTwice');
    expect(r.event).toBeUndefined();
    await expect(net.submit(id, 'counter', '_hidden')).rejects.toBeInstanceOf(TxFailed);
    await expect(net.submit(id, 'counter', 'nope')).rejects.toBeInstanceOf(TxFailed);
    expect(await net.evaluate(id, 'counter', 'counter:read')).toBe('');
  });

  it('refuses a chaincode re-entering itself but allows calling one chaincode twice in a row', async () => {
    const net = new FabricChannel('ch');
    net.install('counter', new Counter());
    net.install('counter2', new Loop());
    const r = await net.submit(id, 'counter', 'callee', 'back');
    expect(JSON.parse(r.text)).toMatchObject({ status: 500 });
    expect(JSON.parse(r.text).message).toContain('exists');
    const twice = await net.submit(id, 'counter2', 'twice');
    expect(twice.text).toBe('200,200');
  });

  it('decodes the invocation spec the shim hands over', () => {
    expect(() => decodeInvocationSpec(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow();
  });
});
