import { FORMATS as beacon } from './beacon.ts';
import { FORMATS as ethereum } from './ethereum.ts';
import { FORMATS as fabric } from './fabric.ts';
import { FORMATS as ics23 } from './ics23.ts';
import { FORMATS as substrate } from './substrate.ts';
import { FORMATS as tendermint } from './tendermint.ts';
import type { VectorFormat } from './types.ts';

/** Every format `qiao proof verify` knows; folder formats are asked before file formats. */
export const VECTOR_FORMATS: readonly VectorFormat[] = [...tendermint, ...ics23, ...ethereum, ...beacon, ...substrate, ...fabric];
