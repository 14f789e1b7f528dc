// The live figures, pushed by the gateway as server-sent events (GET /api/v1/ops/live).
// EventSource cannot send an Authorization header, so fetch-event-source reads the stream. Each
// (re)connection asks the session for a valid token, so a long-running wall screen keeps going
// across token refreshes; failures are retried here with a growing, jittered pause.
import { fetchEventSource, type EventSourceMessage } from "@microsoft/fetch-event-source";
import { API, problemOf, type Session } from "../lib/api";
import { lang, t } from "../lib/i18n";
import type { Figures } from "./types";

export type LiveState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "reconnecting"; reason: string }
  | { kind: "refused"; message: string }
  | { kind: "signed-out" };

type Listeners = {
  onFigures: (figures: Figures) => void;
  onState: (state: LiveState) => void;
};

const FIRST_PAUSE = 1_000;
const LONGEST_PAUSE = 30_000;
// The gateway sends a keep-alive comment every 15 s: silence this long means a dead connection.
const SILENCE = 45_000;

/** An answer that retrying cannot change. */
class Final extends Error {
  constructor(readonly state: LiveState) {
    super(state.kind);
  }
}

/** The gateway ended the stream on purpose (token expired, session ended): reconnect now. */
class Ended extends Error {}

/** Follows the live figures until `signal` aborts, the session ends or the caller is refused. */
export async function followLive(session: Session, listeners: Listeners, signal: AbortSignal): Promise<void> {
  let pause = FIRST_PAUSE;
  while (!signal.aborted) {
    let token: string | null;
    try {
      token = await session.accessToken();
    } catch {
      token = session.tokens?.access_token ?? null; // offline: try anyway, fail, and wait
    }
    if (token === null) {
      listeners.onState({ kind: "signed-out" });
      return;
    }
    let reason = "";
    try {
      await once(token, listeners, signal, () => (pause = FIRST_PAUSE));
      reason = t("Aliran data terputus.", "The stream closed.");
    } catch (error) {
      if (error instanceof Final) {
        if (error.state.kind === "signed-out") session.clear();
        listeners.onState(error.state);
        return;
      }
      if (error instanceof Ended) continue; // a fresh token, at once
      reason = error instanceof Error && error.message ? error.message : String(error);
    }
    if (signal.aborted) return;
    listeners.onState({ kind: "reconnecting", reason });
    await sleep(pause * (0.75 + Math.random() * 0.5), signal);
    pause = Math.min(pause * 2, LONGEST_PAUSE);
  }
}

/** One connection: resolves when it closes, throws why it failed. */
async function once(token: string, listeners: Listeners, outer: AbortSignal, opened: () => void): Promise<void> {
  const connection = new AbortController();
  const stop = () => connection.abort();
  outer.addEventListener("abort", stop);
  let heard = Date.now();
  let silent = false;
  const watchdog = setInterval(() => {
    if (Date.now() - heard > SILENCE) {
      silent = true;
      connection.abort();
    }
  }, 5_000);
  try {
    await fetchEventSource(`${API}/ops/live`, {
      headers: { Authorization: `Bearer ${token}`, "Accept-Language": lang },
      signal: connection.signal,
      openWhenHidden: true,
      // Every byte (keep-alive comments included) proves the connection alive.
      fetch: async (input, init) => watched(await fetch(input, init), () => (heard = Date.now())),
      async onopen(response) {
        if (response.ok && response.headers.get("content-type")?.startsWith("text/event-stream")) {
          opened();
          listeners.onState({ kind: "live" });
          return;
        }
        if (response.status === 401) throw new Final({ kind: "signed-out" });
        const problem = await problemOf(response);
        if (response.status === 403) throw new Final({ kind: "refused", message: problem.message });
        throw new Error(problem.message);
      },
      onmessage(message: EventSourceMessage) {
        if (message.event === "figures") listeners.onFigures(JSON.parse(message.data) as Figures);
        else if (message.event === "end") throw new Ended(message.data);
      },
      onerror(error: unknown) {
        throw error; // retried by followLive, with a fresh token
      },
    });
  } catch (error) {
    if (error instanceof TypeError) throw new Error(t("Tidak ada koneksi ke server.", "No connection to the server."));
    throw error;
  } finally {
    clearInterval(watchdog);
    outer.removeEventListener("abort", stop);
  }
  if (silent) throw new Error(t("Server tidak menjawab.", "The server stopped answering."));
}

function watched(response: Response, onBytes: () => void): Response {
  if (!response.body) return response;
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes();
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
