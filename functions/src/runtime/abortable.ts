/**
 * A promise abandoned when a signal aborts: for calls that do not take a signal themselves (a DNS
 * lookup, a gax call's own timer), so an attempt's deadline or cancel is honoured at once. The
 * underlying call's rejection passes through unchanged (its `code` is what callers map).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, abortError: () => Error = () => new Error("aborted")): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
