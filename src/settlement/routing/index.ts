/** The pure route engine (no I/O): see engine.ts. */
export * from './types.ts';
export { candidatePaths, compareRoutes, evaluatePath, findRoutes, indexGraph, legsOf, MAX_HOPS, type FindRoutesOptions, type GraphIndex } from './engine.ts';
export { hopAmount, type HopAmount, type HopFees } from './hop-amount.ts';
