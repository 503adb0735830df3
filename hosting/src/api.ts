/** Calls to the `api` function, with the signed-in user's ID token and ETag-aware polling. */
export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

let tokenSource: (() => Promise<string | null>) | undefined;

/** The page tells the API client how to get a fresh ID token (null when signed out). */
export function useTokens(source: () => Promise<string | null>): void {
  tokenSource = source;
}

const etags = new Map<string, { etag: string; body: unknown }>();

async function headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const token = tokenSource === undefined ? null : await tokenSource();
  return { Accept: "application/json", ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...extra };
}

async function failure(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string; errors?: FieldError[] } };
  return new ApiError(response.status, body.error?.code ?? "http_error", body.error?.message ?? `HTTP ${response.status}`, body.error?.errors ?? []);
}

/** GET with If-None-Match: an unchanged resource costs a 304 and returns the cached body. */
export async function getJson<T>(path: string): Promise<{ body: T; changed: boolean }> {
  const cached = etags.get(path);
  const response = await fetch(path, { headers: await headers(cached === undefined ? {} : { "If-None-Match": cached.etag }) });
  if (response.status === 304 && cached !== undefined) return { body: cached.body as T, changed: false };
  if (!response.ok) throw await failure(response);
  const body = (await response.json()) as T;
  const etag = response.headers.get("ETag");
  if (etag !== null) etags.set(path, { etag, body });
  return { body, changed: true };
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, { method: "POST", headers: await headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** Forget cached bodies (after signing in or out: the same URL answers differently). */
export function clearCache(): void {
  etags.clear();
}
