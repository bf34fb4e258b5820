import type { VectorFormat } from './types.ts';

/** tendermint vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
