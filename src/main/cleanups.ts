import type { Logger } from 'pino';

/** Shutdown steps run in reverse order of registration; one failing step never stops the rest. */
export function cleanupStack(logger: Logger): { push(step: () => Promise<void>): void; run(): Promise<void> } {
  const steps: (() => Promise<void>)[] = [];
  return {
    push: (step) => void steps.push(step),
    async run() {
      for (const step of steps.reverse()) {
        try {
          await step();
        } catch (err) {
          logger.warn({ err }, 'error during shutdown');
        }
      }
    },
  };
}
