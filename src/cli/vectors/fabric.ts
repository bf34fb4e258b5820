import type { VectorFormat } from './types.ts';

/** fabric vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
