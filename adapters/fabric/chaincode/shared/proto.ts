/**
 * Just enough protobuf reading to learn which chaincode and function the client
 * invoked (ChaincodeInvocationSpec in the signed proposal). Fabric tells a called
 * chaincode nothing about its caller, but the outer-most chaincode is in the
 * proposal the client signed: a callee that trusts only one outer chaincode (a
 * receiver trusting the port) or a port naming a chaincode sender relies on it.
 */
interface Field {
  no: number;
  wire: number;
  bytes?: Uint8Array;
}

function varint(b: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos];
    if (byte === undefined || shift > 63n) throw new Error('truncated varint');
    pos++;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
}

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [tag, p1] = varint(b, pos);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    pos = p1;
    if (wire === 0) pos = varint(b, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, p2] = varint(b, pos);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.push({ no, wire, bytes: b.subarray(p2, end) });
      pos = end;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.push({ no, wire });
  }
  return out;
}

const sub = (b: Uint8Array, no: number): Uint8Array | undefined => fields(b).find((f) => f.no === no && f.wire === 2)?.bytes;

export interface Invocation {
  chaincode: string;
  args: string[];
}

/** Decodes ChaincodeInvocationSpec{chaincode_spec{chaincode_id{name}, input{args}}}. */
export function decodeInvocationSpec(input: Uint8Array): Invocation {
  const spec = sub(input, 1);
  if (!spec) throw new Error('no chaincode_spec');
  const id = sub(spec, 2);
  const name = id ? sub(id, 2) : undefined;
  if (!name) throw new Error('no chaincode name');
  const ccInput = sub(spec, 3);
  const dec = new TextDecoder();
  const args = ccInput ? fields(ccInput).filter((f) => f.no === 1 && f.bytes).map((f) => dec.decode(f.bytes)) : [];
  return { chaincode: dec.decode(name), args };
}
