// The typed client of the public API (/api/v1, types generated from the gateway's OpenAPI
// document), the signed-in session, and errors shown in the user's language.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { lang, t } from "./i18n";

export type Schemas = components["schemas"];
export const API = "/api/v1";

/** One field at fault: its key, its label (in the user's language, where the API gives one), why. */
export type FieldError = { field: string; message: string; label?: string };

/** A problem+json answer, or no answer at all (offline). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "",
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
  get offline(): boolean {
    return this.status === 0;
  }
}

export function offlineError(): ApiError {
  return new ApiError(0, t("Tidak ada koneksi internet. Coba lagi nanti.", "No internet connection. Try again later."), "offline");
}

type ProblemBody = { title?: string; detail?: string; type?: string; errors?: { field?: string; message?: unknown; label?: unknown }[] };

export async function problemOf(response: Response): Promise<ApiError> {
  let body: ProblemBody = {};
  try {
    body = await response.clone().json();
  } catch {
    /* not JSON: a proxy's page */
  }
  return problemFrom(response.status, body);
}

/** An error from a problem+json body already read (openapi-fetch reads it into `error`). */
export function problemFrom(status: number, parsed: unknown): ApiError {
  const body: ProblemBody = parsed && typeof parsed === "object" ? (parsed as ProblemBody) : {};
  const message = body.detail || body.title || t(`Permintaan gagal (${status}).`, `Request failed (${status}).`);
  const errors = (body.errors ?? []).map((e) => ({
    field: String(e.field ?? ""),
    message: typeof e.message === "string" ? e.message : JSON.stringify(e.message),
    ...(typeof e.label === "string" && e.label ? { label: e.label } : {}),
  }));
  return new ApiError(status, message, body.type ?? "", errors);
}

// ---- session -------------------------------------------------------------------------------

export type Tokens = { access_token: string; refresh_token: string; expires_at: number; role: string };
type TokenPair = Schemas["TokenPair"];

/** One signed-in session per app (the citizen's phone, the officer's desk, the wall screen). */
export class Session {
  private refreshing: Promise<Tokens | null> | null = null;
  private listeners = new Set<() => void>();
  constructor(private readonly key: string) {}

  get tokens(): Tokens | null {
    const raw = localStorage.getItem(this.key);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  }
  get signedIn(): boolean {
    return this.tokens !== null;
  }
  get role(): string | null {
    return this.tokens?.role ?? null;
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  store(pair: TokenPair): void {
    const tokens: Tokens = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      expires_at: Date.now() + pair.expires_in * 1000,
      role: pair.role,
    };
    localStorage.setItem(this.key, JSON.stringify(tokens));
    this.listeners.forEach((listener) => listener());
  }

  clear(): void {
    localStorage.removeItem(this.key);
    this.listeners.forEach((listener) => listener());
  }

  async signIn(username: string, password: string): Promise<Tokens> {
    const pair = await tokenGrant({ grant_type: "password", username, password });
    this.store(pair);
    return this.tokens!;
  }

  async signOut(): Promise<void> {
    const tokens = this.tokens;
    this.clear();
    if (tokens) {
      await fetch(`${API}/auth/logout`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      }).catch(() => undefined);
    }
  }

  /** A valid access token, refreshed a little before it expires; null when signed out. */
  async accessToken(): Promise<string | null> {
    const tokens = this.tokens;
    if (!tokens) return null;
    if (tokens.expires_at - Date.now() > 30_000) return tokens.access_token;
    this.refreshing ??= this.refresh(tokens).finally(() => (this.refreshing = null));
    return (await this.refreshing)?.access_token ?? null;
  }

  private async refresh(tokens: Tokens): Promise<Tokens | null> {
    try {
      this.store(await tokenGrant({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }));
      return this.tokens;
    } catch (error) {
      // Offline: keep the session and let the request fail as offline. Refused: signed out.
      if (error instanceof ApiError && !error.offline) this.clear();
      if (error instanceof ApiError && error.offline) throw error;
      return null;
    }
  }
}

async function tokenGrant(form: Record<string, string>): Promise<TokenPair> {
  let response: Response;
  try {
    response = await fetch(`${API}/auth/token`, {
      method: "POST",
      headers: { "Accept-Language": lang },
      body: new URLSearchParams(form),
    });
  } catch {
    throw offlineError();
  }
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as TokenPair;
}

// ---- the client ----------------------------------------------------------------------------

export function createApi(session: Session) {
  const client = createClient<paths>({ baseUrl: "" });
  const auth: Middleware = {
    async onRequest({ request }) {
      request.headers.set("Accept-Language", lang);
      const token = await session.accessToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.status === 401 && session.signedIn) session.clear();
      return response;
    },
  };
  client.use(auth);
  return client;
}

/** The data of an openapi-fetch call, or an ApiError in the user's language. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw offlineError();
  }
  if (!result.response.ok) throw problemFrom(result.response.status, result.error);
  return result.data as T;
}

/** Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export async function upload<T>(
  session: Session,
  path: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  idempotencyKey?: string,
): Promise<T> {
  const token = await session.accessToken();
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}${path}`);
    xhr.setRequestHeader("Accept-Language", lang);
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    if (idempotencyKey) xhr.setRequestHeader("Idempotency-Key", idempotencyKey);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(offlineError());
    xhr.onload = async () => {
      const response = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { "Content-Type": xhr.getResponseHeader("Content-Type") ?? "application/json" },
      });
      if (xhr.status >= 200 && xhr.status < 300) resolve((await response.json()) as T);
      else reject(await problemOf(response));
    };
    xhr.send(form);
  });
}
