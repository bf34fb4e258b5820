import substrateMetadata, { version as substrateVersion } from '@polkadot/types-support/metadata/static-substrate';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { hexToU8a } from '@polkadot/util';

/**
 * The runtime the test chain pretends to run: the kitchensink (substrate
 * node) v14 metadata shipped with @polkadot/types-support, spec 268. Every
 * SCALE value the server stores or serves is encoded with this registry, so
 * a client decoding with the served metadata sees the runtime's real types.
 * Parsing the metadata takes ~1 s, so the registry is made once per process
 * and shared read-only by every server instance.
 */
export interface Runtime {
  registry: TypeRegistry;
  metadata: Metadata;
  metadataHex: `0x${string}`;
  metadataBytes: Uint8Array;
  specName: string;
  implName: string;
  baseSpecVersion: number;
  transactionVersion: number;
  authoringVersion: number;
  apis: [string, number][];
  /** [pallet index, event index] of an event in the served metadata */
  event(pallet: string, name: string): [number, number];
  palletIndex(pallet: string): number;
}

let cached: Runtime | null = null;

function eventIndex(metadata: Metadata, registry: TypeRegistry, pallet: string, event: string): [number, number] {
  const p = metadata.asLatest.pallets.find((x) => x.name.eq(pallet));
  if (!p || p.events.isNone) throw new Error(`metadata has no events for ${pallet}`);
  const variants = registry.lookup.getSiType(p.events.unwrap().type).def.asVariant.variants;
  const v = variants.find((x) => x.name.eq(event));
  if (!v) throw new Error(`metadata has no ${pallet}.${event}`);
  return [p.index.toNumber(), v.index.toNumber()];
}

export function loadRuntime(): Runtime {
  if (cached) return cached;
  const registry = new TypeRegistry();
  const metadataHex = substrateMetadata as `0x${string}`;
  const metadata = new Metadata(registry, metadataHex);
  registry.setMetadata(metadata);
  const v = substrateVersion as unknown as { specName: string; implName: string; specVersion: number; transactionVersion: number; authoringVersion: number; apis: [string, number][] };
  const indices = new Map<string, [number, number]>();
  cached = {
    registry,
    metadata,
    metadataHex,
    metadataBytes: hexToU8a(metadataHex),
    specName: v.specName,
    implName: v.implName,
    baseSpecVersion: v.specVersion,
    transactionVersion: v.transactionVersion,
    authoringVersion: v.authoringVersion,
    apis: v.apis,
    palletIndex: (pallet) => {
      const p = metadata.asLatest.pallets.find((x) => x.name.eq(pallet));
      if (!p) throw new Error(`metadata has no pallet ${pallet}`);
      return p.index.toNumber();
    },
    event: (pallet, name) => {
      const key = `${pallet}.${name}`;
      let at = indices.get(key);
      if (!at) indices.set(key, (at = eventIndex(metadata, registry, pallet, name)));
      return at;
    },
  };
  return cached;
}
