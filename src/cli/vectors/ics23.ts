import type { VectorFormat } from './types.ts';

/** ics23 vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [];
