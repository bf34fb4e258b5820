import { ValidationError } from '../../src/errors.ts';

/** One node the hub talks to, from a registration endpoint `grpc[s]://host:port?msp=Org1MSP[&role=orderer]`. */
export interface FabricEndpoint {
  /** The URL as registered (query included). */
  url: string;
  /** `grpc://host:port` / `grpcs://host:port`, what a gRPC client dials. */
  address: string;
  host: string;
  port: number;
  tls: boolean;
  mspId: string;
  role: 'peer' | 'orderer';
  /** A stable node name for the connection profile (`host:port`). */
  name: string;
}

export interface FabricEndpoints {
  /** Peer endpoints in registration order: endpoint index i of the prover and `FabricBlocks` is `peers[i]`. */
  peers: FabricEndpoint[];
  orderers: FabricEndpoint[];
}

const MSP_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export function parseFabricEndpoint(raw: string, field: string): FabricEndpoint {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (cause) {
    throw new ValidationError(field, `"${raw}" is not a grpc:// or grpcs:// URL`, { cause });
  }
  if (u.protocol !== 'grpc:' && u.protocol !== 'grpcs:') throw new ValidationError(field, `"${raw}" must use grpc:// or grpcs://`);
  if (!u.hostname || !u.port) throw new ValidationError(field, `"${raw}" needs a host and a port`);
  if (u.pathname !== '' && u.pathname !== '/') throw new ValidationError(field, `"${raw}" must have no path`);
  const mspId = u.searchParams.get('msp');
  if (!mspId || !MSP_ID.test(mspId)) throw new ValidationError(field, `"${raw}" needs ?msp=<MSP id> (the node's organisation)`);
  const role = u.searchParams.get('role') ?? 'peer';
  if (role !== 'peer' && role !== 'orderer') throw new ValidationError(field, `"${raw}": role must be peer or orderer`);
  for (const k of u.searchParams.keys()) if (k !== 'msp' && k !== 'role') throw new ValidationError(field, `"${raw}": unknown parameter ${k}`);
  const tls = u.protocol === 'grpcs:';
  const host = u.hostname;
  const port = Number(u.port);
  return { url: raw, address: `${tls ? 'grpcs' : 'grpc'}://${host}:${port}`, host, port, tls, mspId, role, name: `${host}:${port}` };
}

/** Splits a registration's endpoints into peers and orderers; at least one of each, no node twice. */
export function parseFabricEndpoints(urls: readonly string[], field = 'endpoints'): FabricEndpoints {
  const all = urls.map((raw, i) => parseFabricEndpoint(raw, `${field}[${i}]`));
  const names = new Set<string>();
  for (const e of all) {
    if (names.has(e.name)) throw new ValidationError(field, `${e.name} is listed twice`);
    names.add(e.name);
  }
  const peers = all.filter((e) => e.role === 'peer');
  const orderers = all.filter((e) => e.role === 'orderer');
  if (peers.length === 0) throw new ValidationError(field, 'needs at least one peer (grpc://host:port?msp=Org1MSP)');
  if (orderers.length === 0) throw new ValidationError(field, 'needs an orderer (grpc://host:port?msp=OrdererMSP&role=orderer)');
  return { peers, orderers };
}

/** The distinct organisations whose peers are listed. */
export function peerOrganisations(e: FabricEndpoints): string[] {
  return [...new Set(e.peers.map((p) => p.mspId))];
}
