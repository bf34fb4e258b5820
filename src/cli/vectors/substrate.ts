import type { VectorFormat } from './types.ts';

/** substrate vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
