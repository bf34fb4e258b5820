import type { VectorFormat } from './types.ts';

/** ethereum vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
