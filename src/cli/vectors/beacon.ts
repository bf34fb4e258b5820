import type { VectorFormat } from './types.ts';

/** beacon vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
