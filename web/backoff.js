// How long to wait before the next attempt to reach something that failed.

export const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

// Milliseconds before attempt `attempt` (0 = the first retry); capped at the last step.
export function backoff(attempt, steps = BACKOFF_MS) {
  return steps[Math.min(Math.max(0, attempt), steps.length - 1)];
}
