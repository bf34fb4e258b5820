/**
 * Chaincode is deployed on its own (it may not import src/), so it has its own
 * typed error: a refused transaction fails with `code` in the message prefix,
 * which is what a Fabric client sees; callers in TypeScript branch on `code`.
 */
export class ChaincodeError extends Error {
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = Object.freeze({ ...(options.data ?? {}) });
  }
}
