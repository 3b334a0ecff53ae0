/**
 * A promise with a deadline: `work`'s outcome, or the error `onTimeout` makes once `timeoutMs`
 * passed, whichever comes first. The timer never outlives the race (it would keep the process up).
 * `work` itself is not cancelled: callers that can cancel pass their own signal as well.
 */
export async function withTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
